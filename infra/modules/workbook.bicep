// The operations dashboard: an Azure Workbook over the Log Analytics workspace (sessions, pay outcomes, code to
// completion, webhooks, queues, sweep, gateway, refunds). Its content is infra/workbooks/operations.workbook.json, in
// the format the workbook editor's Advanced Editor shows (Notebook/1.0; edit it there and paste the result back);
// the placeholder {workspace-resource-id} becomes this deployment's workspace, the resource every query runs against.

@description('Region of the workbook.')
param location string

@description('Tags put on the workbook.')
param tags { *: string }

@description('The deployment\'s base name (part of the workbook\'s name and title).')
param baseName string

@description('The Log Analytics workspace the queries read.')
param workspaceName string

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: workspaceName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; a deterministic one makes a redeployment update it instead of adding another.
  name: guid(resourceGroup().id, baseName, 'operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'BLIK checkout operations (${baseName})'
    category: 'workbook'
    version: '1.0'
    sourceId: workspace.id
    serializedData: replace(loadTextContent('../workbooks/operations.workbook.json'), '{workspace-resource-id}', workspace.id)
  }
}
