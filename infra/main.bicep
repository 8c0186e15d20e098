// Blik checkout service: Azure Functions on Flex Consumption (FC1, .NET 10 isolated) with a user-assigned identity,
// identity-only storage, the gateway key in Key Vault and Application Insights with Entra-only ingestion.
//
// Deploy (docs/operations.md has the whole runbook): `azd up` from the repository root (azure.yaml), which fills
// infra/main.parameters.json from the azd environment and the shell's environment variables; or by hand with
// `az deployment group create -g <rg> -f infra/main.bicep -p infra/main.parameters.json -p <every ${...} parameter>`.
//
// Resource-group scope on purpose (azd's `resourceGroup`/AZURE_RESOURCE_GROUP picks the group): the deployer needs
// rights on one group only, what-if and the manual fallback target the group, and the group can be created by whoever
// owns the subscription's policies.
//
// Checked on every test run (tests/Blik.Deployment.Tests): `bicep build` and `bicep lint` with infra/bicepconfig.json,
// where every linter rule is an error and each resource uses the newest API version the pinned Bicep CLI knows.

targetScope = 'resourceGroup'

@description('Short lowercase name (letters and digits) that prefixes every resource, e.g. "blik" or "blikprod".')
@minLength(3)
@maxLength(10)
param baseName string = 'blik'

@description('Region of every resource. Must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Name of the environment (azd: AZURE_ENV_NAME), put on every resource as the tag azd-env-name.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Tags put on every resource (azd-env-name is added).')
param tags { *: string } = {}

@description('The merchant API base URL Converge Gate gave you (https).')
@minLength(8)
param convergeGateBaseUrl string

@description('The Converge Gate secret API key (sk_live_... / sk_test_...). Stored only in Key Vault; pass it on the command line, never in a file.')
@secure()
param convergeGateSecretKey string

@description('During a key rotation only: the Key Vault secret version (32 hex characters) holding the key being rotated out. Empty otherwise.')
param convergeGatePreviousKeyVersion string = ''

@description('Browser origins allowed to call the pay and status endpoints (the checkout page\'s origin), e.g. ["https://shop.example.com"].')
param allowedOrigins string[] = []

@description('Custom domain bound to the app (e.g. "pay.example.com"). Empty: the app\'s default *.azurewebsites.net host name is the public URL.')
param customDomainHostName string = ''

@description('Queue that receives one message per completed or expired session, for the shop\'s fulfilment process.')
@minLength(3)
@maxLength(63)
param fulfilmentQueueName string = 'checkout-fulfilment'

@description('Most instances the app scales out to. 100 covers the Black Friday peak sized in docs/scale.md (about 60 instances); it is a cap, not a cost.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of one instance, in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Days the Log Analytics workspace keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('E-mail addresses that receive every alert (docs/operations.md, section 9). At least one: an alert nobody receives is noise.')
@minLength(1)
param alertEmailAddresses string[]

@description('Optional webhook that receives every alert in the common alert schema (an on-call tool). Secure: such URLs carry a token. Null or empty: e-mail only.')
@secure()
param alertWebhookUrl string?

@description('Where docs/operations.md is published (for example its URL in the repository host); every alert links to its section there.')
param runbookUrl string = 'docs/operations.md'

@description('Suffix unique to the subscription, resource group and base name, so two environments never collide.')
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, baseName))

@description('Every resource name, known before deployment: modules get names, not outputs, so what-if can predict them.')
var names = {
  identity: 'id-${baseName}-${resourceToken}'
  storage: take('st${baseName}${resourceToken}', 24)
  keyVault: take('kv-${baseName}-${resourceToken}', 24)
  workspace: 'log-${baseName}-${resourceToken}'
  appInsights: 'appi-${baseName}-${resourceToken}'
  plan: 'plan-${baseName}-${resourceToken}'
  functionApp: 'func-${baseName}-${resourceToken}'
  alertsIdentity: 'id-${baseName}-alerts-${resourceToken}'
  actionGroup: 'ag-${baseName}-${resourceToken}'
}

@description('Every resource carries the environment name; azd finds the resources of an environment by it.')
var resourceTags = union(tags, { 'azd-env-name': environmentName })

@description('The service name in azure.yaml; azd deploys the app to the site tagged azd-service-name with it.')
var azdServiceName = 'checkout'

@description('Blob container the Flex Consumption platform deploys the app package from.')
var deploymentContainerName = 'app-package'

@description('Key Vault secret holding the Converge Gate secret key; every deployment writes a new version of it.')
var gatewaySecretName = 'convergegate-secret-key'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: names.identity
  location: location
  tags: resourceTags
}

module monitoring 'modules/monitoring.bicep' = {
  params: {
    location: location
    tags: resourceTags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  params: {
    location: location
    tags: resourceTags
    name: names.storage
    deploymentContainerName: deploymentContainerName
    fulfilmentQueueName: fulfilmentQueueName
  }
}

module keyVault 'modules/keyvault.bicep' = {
  params: {
    location: location
    tags: resourceTags
    name: names.keyVault
    gatewaySecretName: gatewaySecretName
    convergeGateSecretKey: convergeGateSecretKey
  }
}

module roles 'modules/roles.bicep' = {
  // The module refers to these resources by name (known before deployment), so it waits for them explicitly.
  dependsOn: [
    storage
    keyVault
    monitoring
  ]
  params: {
    identityName: identity.name
    storageAccountName: names.storage
    keyVaultName: names.keyVault
    gatewaySecretName: gatewaySecretName
    appInsightsName: names.appInsights
  }
}

module functionApp 'modules/functionapp.bicep' = {
  // The identity must hold its roles before the app first resolves Key Vault references and reaches storage.
  dependsOn: [
    roles
  ]
  params: {
    location: location
    tags: resourceTags
    planName: names.plan
    appName: names.functionApp
    identityName: identity.name
    storageAccountName: names.storage
    deploymentContainerName: deploymentContainerName
    appInsightsName: names.appInsights
    keyVaultName: names.keyVault
    gatewaySecretName: gatewaySecretName
    convergeGatePreviousKeyVersion: convergeGatePreviousKeyVersion
    convergeGateBaseUrl: convergeGateBaseUrl
    fulfilmentQueueName: fulfilmentQueueName
    allowedOrigins: allowedOrigins
    customDomainHostName: customDomainHostName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    serviceName: azdServiceName
  }
}

module alerts 'modules/alerts.bicep' = {
  // The rules refer to the workspace, the storage account and the app by name (known before deployment).
  dependsOn: [
    monitoring
    storage
    functionApp
  ]
  params: {
    location: location
    tags: resourceTags
    baseName: baseName
    actionGroupName: names.actionGroup
    alertsIdentityName: names.alertsIdentity
    workspaceName: names.workspace
    storageAccountName: names.storage
    functionAppName: names.functionApp
    runbookUrl: runbookUrl
    alertEmailAddresses: alertEmailAddresses
    alertWebhookUrl: alertWebhookUrl
  }
}

module workbook 'modules/workbook.bicep' = {
  dependsOn: [
    monitoring
  ]
  params: {
    location: location
    tags: resourceTags
    baseName: baseName
    workspaceName: names.workspace
  }
}

@description('Name of the Function App (for az functionapp commands).')
output functionAppName string = names.functionApp

@description('The app\'s own https URL (default host name).')
output functionAppUrl string = functionApp.outputs.defaultUrl

@description('The public base URL the app builds notification_url from (custom domain when given).')
output publicBaseUrl string = functionApp.outputs.publicBaseUrl

@description('Register this URL with Converge Gate (allow-listing of the notification URL).')
output webhookUrl string = '${functionApp.outputs.publicBaseUrl}/api/webhooks/convergegate'

@description('Key Vault holding the gateway key.')
output keyVaultName string = names.keyVault

@description('Version of the gateway key secret this deployment wrote; the value to pass as convergeGatePreviousKeyVersion when rotating it out.')
output convergeGateKeyVersion string = keyVault.outputs.gatewayKeyVersion

@description('The fulfilment queue the shop consumes.')
output fulfilmentQueueName string = fulfilmentQueueName

@description('Storage account (queues, tables, deployment container).')
output storageAccountName string = names.storage

@description('Client id of the app\'s user-assigned identity.')
output identityClientId string = identity.properties.clientId
