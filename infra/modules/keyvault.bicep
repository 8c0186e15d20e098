// Key Vault with Azure RBAC (no access policies) holding the Converge Gate secret key. Each deployment writes the
// key given on the command line; Key Vault keeps every earlier value as a version, which is what key rotation uses.

param location string
param tags object
param name string
param gatewaySecretName string

@secure()
param convergeGateSecretKey string

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource gatewaySecret 'Microsoft.KeyVault/vaults/secrets@2026-02-01' = {
  parent: vault
  name: gatewaySecretName
  properties: {
    value: convergeGateSecretKey
    contentType: 'text/plain'
  }
}

output name string = vault.name

@description('Versionless secret URI: a Key Vault reference to it follows the newest version.')
output gatewayKeyUri string = gatewaySecret.properties.secretUri

@description('The version this deployment wrote (last segment of the versioned URI).')
output gatewayKeyVersion string = last(split(gatewaySecret.properties.secretUriWithVersion, '/'))
