// The one storage account: Functions host state (blob leases, timer schedule), the Flex deployment package
// container, the event queues and the application's tables. Shared-key access is off, so every client (the app,
// the host, the deployment, operators) authenticates with Entra ID.

@description('Region of the account.')
param location string

@description('Tags put on the account.')
param tags { *: string }

@description('Name of the storage account.')
param name string

@description('Blob container the platform deploys the app package from.')
param deploymentContainerName string

@description('The queue that gets one message per finished session for the shop\'s fulfilment (app setting Checkout__FulfilmentQueue).')
param fulfilmentQueueName string

@description('Replication. Standard_LRS works in every region; choose Standard_ZRS where the region offers it.')
param skuName string = 'Standard_LRS'

// Must equal Blik.Checkout.QueueNames and TableNames (tests/Blik.Deployment.Tests checks it).
@description('The event queue and its poison queue (created here so operators can look at it before the host first needs it), and the queue of delayed first re-checks. The fulfilment queue\'s name is a setting, so it comes in as a parameter.')
var queueNames = [
  'checkout-events'
  'checkout-events-poison'
  'checkout-rechecks'
]
@description('The application\'s tables.')
var tableNames = [
  'checkoutsessions'
  'checkoutdue'
  'checkoutidempotency'
  'checkoutrefunds'
  'checkoutorders'
  'checkoutevents'
]

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    dnsEndpointType: 'Standard'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2026-09-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2026-09-01' = [for queueName in concat(queueNames, [fulfilmentQueueName]): {
  parent: queueService
  name: queueName
}]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2026-09-01' = {
  parent: storage
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2026-09-01' = [for tableName in tableNames: {
  parent: tableService
  name: tableName
}]
