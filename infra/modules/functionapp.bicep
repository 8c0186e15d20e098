// The Function App on a Flex Consumption (FC1) plan: Linux, dotnet-isolated 10.0, running as the user-assigned
// identity for storage, deployment, Key Vault references and Application Insights.

@description('Region of the plan and the app.')
param location string

@description('Tags put on the plan and the app.')
param tags { *: string }

@description('Name of the Flex Consumption plan.')
param planName string

@description('Name of the Function App.')
param appName string

@description('The user-assigned identity the app runs as (created by main.bicep).')
param identityName string

@description('The storage account for the host, the app\'s queues and tables, and the deployment container.')
param storageAccountName string

@description('Blob container the platform deploys the app package from.')
param deploymentContainerName string

@description('The Application Insights component telemetry goes to.')
param appInsightsName string

@description('The vault holding the gateway key.')
param keyVaultName string

@description('The secret holding the gateway key.')
param gatewaySecretName string

@description('During a key rotation only: the secret version holding the key being rotated out. Empty otherwise.')
param convergeGatePreviousKeyVersion string

@description('The merchant API base URL Converge Gate gave you (https).')
param convergeGateBaseUrl string

@description('Queue that receives one message per finished session (app setting Checkout__FulfilmentQueue).')
param fulfilmentQueueName string

@description('Browser origins allowed to call the pay and status endpoints.')
param allowedOrigins string[]

@description('Custom domain bound to the app; empty for the default host name.')
param customDomainHostName string

@description('Most instances the app scales out to.')
param maximumInstanceCount int

@description('Memory of one instance, in MB.')
param instanceMemoryMB int

@description('The service name in azure.yaml: the site is tagged azd-service-name with it, which is how azd deploy finds it.')
param serviceName string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
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

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: appName
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
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

@description('The base URL the app builds notification_url from: the custom domain when given, else the default host name.')
var publicBaseUrl = empty(customDomainHostName) ? 'https://${site.properties.defaultHostName}' : 'https://${customDomainHostName}'

// Every app setting the app gets. tests/Blik.Deployment.Tests reads them from the compiled template and fails when
// infra sets something the code does not read, or misses something the code requires.
// Not set on purpose: FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION (Flex takes the runtime from
// functionAppConfig.runtime and rejects them).
@description('Settings every deployment sets.')
var coreAppSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.properties.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  OTEL_TRACES_SAMPLER: 'microsoft.fixed_percentage'
  OTEL_TRACES_SAMPLER_ARG: '1.0'
  ConvergeGate__BaseUrl: convergeGateBaseUrl
  ConvergeGate__SecretKey: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${gatewaySecretName})'
  Checkout__PublicBaseUrl: publicBaseUrl
  Checkout__FulfilmentQueue: fulfilmentQueueName
}

@description('During a key rotation only: the old key, as a reference to its version of the same secret.')
var rotationAppSettings = empty(convergeGatePreviousKeyVersion) ? {} : {
  ConvergeGate__PreviousSecretKey: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${gatewaySecretName};SecretVersion=${convergeGatePreviousKeyVersion})'
}

@description('Checkout__AllowedOrigins__0..n, the same origins as the platform CORS list.')
var originAppSettings = toObject(range(0, length(allowedOrigins)), i => 'Checkout__AllowedOrigins__${i}', i => allowedOrigins[i])

resource appSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'appsettings'
  properties: union(coreAppSettings, rotationAppSettings, originAppSettings)
}

@description('The app\'s own https URL (default host name).')
output defaultUrl string = 'https://${site.properties.defaultHostName}'

@description('The public base URL the app builds notification_url from.')
output publicBaseUrl string = publicBaseUrl
