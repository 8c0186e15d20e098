// The Function App on a Flex Consumption (FC1) plan: Linux, dotnet-isolated 10.0, running as the user-assigned
// identity for storage, deployment, Key Vault references and Application Insights.

param location string
param tags object
param planName string
param appName string
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerName string
param appInsightsName string
param gatewayKeyUri string
param convergeGatePreviousKeyVersion string
param convergeGateBaseUrl string
param fulfilmentQueueName string
param allowedOrigins array
param customDomainHostName string
param maximumInstanceCount int
param instanceMemoryMB int

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Platform CORS for the browser-facing endpoints; the same origins go to Checkout__AllowedOrigins__N below.
      cors: {
        allowedOrigins: allowedOrigins
        supportCredentials: false
      }
    }
  }
}

var publicBaseUrl = empty(customDomainHostName) ? 'https://${site.properties.defaultHostName}' : 'https://${customDomainHostName}'

// ---- app settings: begin ----------------------------------------------------------------------------------------
// Every app setting the app gets is named in this block, one `Name: value` per line (values on one line), plus the
// generated Checkout__AllowedOrigins__${i} entries. tests/Blik.Deployment.Tests parses this block and fails when it
// sets something the code does not read, or misses something the code requires.
// Not set on purpose: FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION (Flex takes the runtime from
// functionAppConfig.runtime and rejects them).
var coreAppSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  OTEL_TRACES_SAMPLER: 'microsoft.fixed_percentage'
  OTEL_TRACES_SAMPLER_ARG: '1.0'
  ConvergeGate__BaseUrl: convergeGateBaseUrl
  ConvergeGate__SecretKey: '@Microsoft.KeyVault(SecretUri=${gatewayKeyUri})'
  Checkout__PublicBaseUrl: publicBaseUrl
  Checkout__FulfilmentQueue: fulfilmentQueueName
}
var rotationAppSettings = empty(convergeGatePreviousKeyVersion) ? {} : {
  ConvergeGate__PreviousSecretKey: '@Microsoft.KeyVault(SecretUri=${gatewayKeyUri}/${convergeGatePreviousKeyVersion})'
}
var originAppSettings = toObject(range(0, length(allowedOrigins)), i => 'Checkout__AllowedOrigins__${i}', i => allowedOrigins[i])
// ---- app settings: end ------------------------------------------------------------------------------------------

resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  parent: site
  name: 'appsettings'
  properties: union(coreAppSettings, rotationAppSettings, originAppSettings)
}

output name string = site.name
output defaultUrl string = 'https://${site.properties.defaultHostName}'
output publicBaseUrl string = publicBaseUrl
