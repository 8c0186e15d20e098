// Key Vault with Azure RBAC (no access policies) holding the Converge Gate secret key. Each deployment writes the
// key given on the command line; Key Vault keeps every earlier value as a version, which is what key rotation uses.

@description('Region of the vault.')
param location string

@description('Tags put on the vault.')
param tags { *: string }

@description('Name of the vault.')
param name string

@description('Name of the secret holding the Converge Gate secret key.')
param gatewaySecretName string

@description('The Converge Gate secret key; it goes only into the secret\'s value.')
@secure()
param convergeGateSecretKey string

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
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

resource gatewaySecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: gatewaySecretName
  properties: {
    value: convergeGateSecretKey
    contentType: 'text/plain'
  }
}

@description('The version this deployment wrote (last segment of the versioned URI).')
output gatewayKeyVersion string = last(split(gatewaySecret.properties.secretUriWithVersion, '/'))
