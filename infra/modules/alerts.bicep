// The alerts that tell the operator when to act, and the one action group they notify. Each names its section of
// docs/operations.md ("Alert: …"), which says why it fires, what to check and what to do.
//
// Most rules are log search alerts on the Log Analytics workspace (App* tables), over the metrics the app emits
// (docs/telemetry.md): counters and gauges are aggregated per minute and never sampled, so a rule that counts them
// cannot miss an event the way a rule on sampled rows could. Two are metric alerts on platform metrics: the storage
// account's queue backlog (a backstop that works even if the app's own telemetry stops) and the Function App's HTTP
// 5xx (requests that failed before or outside the app's own code).
//
// tests/Blik.Deployment.Tests reads the compiled rules: every alert exists and points at its resource, its runbook
// link is a heading of docs/operations.md, and its query names only metrics the code emits.

@description('Region of the log search alerts and the alerts\' identity (metric alerts and the action group are global).')
param location string

@description('Tags put on every alert resource.')
param tags { *: string }

@description('Prefix of the alert rule names (the deployment\'s base name).')
param baseName string

@description('Name of the action group every alert notifies.')
param actionGroupName string

@description('Name of the user-assigned identity the log search alerts run their queries as.')
param alertsIdentityName string

@description('The Log Analytics workspace the app\'s telemetry lands in.')
param workspaceName string

@description('The storage account holding the app\'s queues.')
param storageAccountName string

@description('The Function App.')
param functionAppName string

@description('Where docs/operations.md is published (a URL, or the repository path); each alert links to its section there.')
param runbookUrl string

@description('E-mail addresses that receive every alert.')
@minLength(1)
param alertEmailAddresses string[]

@description('A webhook (for example the on-call tool\'s) that receives every alert in the common alert schema; null or empty for none. Secure: such URLs usually carry a token.')
@secure()
param alertWebhookUrl string?

@description('A log search alert on the workspace: its query, how often it runs over which window, and when it fires.')
type queryAlert = {
  @description('Suffix of the rule name after the base name; the tests know each rule by it.')
  name: string

  @description('Name shown in the portal and in notifications.')
  displayName: string

  @description('0 Critical, 1 Error, 2 Warning (3 and 4 are not used: nothing here is informational).')
  severity: 0 | 1 | 2

  @description('How often the query runs (ISO 8601).')
  frequency: string

  @description('The time range the query reads, ending at the evaluation (ISO 8601).')
  window: string

  @description('KQL over the workspace\'s App* tables; only names the app emits (docs/telemetry.md).')
  query: string

  @description('How the query\'s rows become the value compared with the threshold.')
  timeAggregation: 'Count' | 'Total' | 'Maximum'

  @description('The column aggregated (every aggregation but Count needs one).')
  measure: string?

  @description('How the value is compared with the threshold.')
  operator: 'GreaterThan' | 'LessThan'

  @description('The threshold.')
  threshold: int

  @description('What the rule detects and why its numbers are what they are; becomes the rule\'s description.')
  why: string

  @description('The heading of its section in docs/operations.md, as a GitHub anchor.')
  runbookAnchor: string
}

@description('The log search alerts. Windows: the service re-evaluates a window when rows arrive late, and the stateful rules (autoMitigate) notify once per incident however many windows see it.')
var queryAlerts queryAlert[] = [
  {
    name: 'poison-messages'
    displayName: 'Events in checkout-events-poison'
    severity: 2
    frequency: 'PT5M'
    window: 'PT10M'
    query: '''
AppMetrics
| where Name == "blik.queue.depth" and tostring(Properties.queue) == "checkout-events-poison"
| summarize Depth = max(Sum / ItemCount)
'''
    timeAggregation: 'Maximum'
    measure: 'Depth'
    operator: 'GreaterThan'
    threshold: 0
    why: 'A webhook event failed processing 5 times and was moved to checkout-events-poison, where nothing reads it. Threshold: any message (depth > 0), because no event should ever end there; Warning, not Error, because the sweep still reconciles every session with the gateway, so no payment is lost while it waits. Read every 5 minutes over 10 (the probe reports once a minute).'
    runbookAnchor: 'alert-events-in-the-poison-queue'
  }
  {
    name: 'events-stuck'
    displayName: 'Events not processed (checkout-events)'
    severity: 2
    frequency: 'PT5M'
    window: 'PT10M'
    query: '''
AppMetrics
| where Name == "blik.queue.oldest_age" and tostring(Properties.queue) == "checkout-events"
| summarize AgeSeconds = max(Sum / ItemCount)
'''
    timeAggregation: 'Maximum'
    measure: 'AgeSeconds'
    operator: 'GreaterThan'
    threshold: 300
    why: 'The oldest visible message in checkout-events is older than 5 minutes: events are not being processed. Threshold: 300 s; an event is normally processed within seconds and a failing one is retried 5 times at 10 s and then moved to poison within about a minute (a message waiting for its retry is invisible and not counted), so 5 minutes means nothing consumes the queue. Warning: the sweep still settles sessions, about 90 s after each code instead of seconds.'
    runbookAnchor: 'alert-events-not-processed'
  }
  {
    name: 'sweep-stopped'
    displayName: 'Sweep stopped (no heartbeat)'
    severity: 1
    frequency: 'PT5M'
    window: 'PT10M'
    query: '''
AppMetrics
| where Name == "blik.sweep.runs"
'''
    timeAggregation: 'Count'
    operator: 'LessThan'
    threshold: 1
    why: 'No sweep run finished in 10 minutes (blik.sweep.runs, counted at the end of each run; the timer runs every minute). Fires on zero rows, so it also fires when the app is down or its telemetry stopped. Threshold: fewer than 1 run in 10 periods, generous because an instance that is recycled uploads its last minute late. Error: without the sweep, lost webhooks are never reconciled, stale sessions never expire and owed fulfilment messages are never resent.'
    runbookAnchor: 'alert-sweep-stopped'
  }
  {
    name: 'late-completion'
    displayName: 'Payment after expiry'
    severity: 1
    frequency: 'PT1M'
    window: 'PT1M'
    query: '''
AppMetrics
| where Name == "blik.sessions.late_completions"
| summarize Sessions = sum(Sum)
'''
    timeAggregation: 'Total'
    measure: 'Sessions'
    operator: 'GreaterThan'
    threshold: 0
    why: 'Converge Gate completed a session this service had already expired (blik.sessions.late_completions, the Critical event LateCompletion): the shopper paid for an order the shop may have cancelled. Threshold: any, evaluated every minute over one minute (the smallest a log search alert allows): each one needs a person.'
    runbookAnchor: 'alert-payment-after-expiry'
  }
  {
    name: 'amount-mismatch'
    displayName: 'Paid amount differs'
    severity: 1
    frequency: 'PT1M'
    window: 'PT1M'
    query: '''
AppMetrics
| where Name == "blik.sessions.amount_mismatches"
| summarize Sessions = sum(Sum)
'''
    timeAggregation: 'Total'
    measure: 'Sessions'
    operator: 'GreaterThan'
    threshold: 0
    why: 'Converge Gate completed a session for another amount or currency than the one created (blik.sessions.amount_mismatches, the Critical event AmountMismatch). Threshold: any, every minute over one minute (the smallest a log search alert allows): the order must not be fulfilled before it is reconciled.'
    runbookAnchor: 'alert-paid-amount-differs'
  }
  {
    name: 'gateway-key-rejected'
    displayName: 'Converge Gate refuses our key'
    severity: 0
    frequency: 'PT1M'
    window: 'PT1M'
    query: '''
AppMetrics
| where Name == "blik.gateway.calls" and tostring(Properties.status) in ("401", "403")
| summarize Calls = sum(Sum)
'''
    timeAggregation: 'Total'
    measure: 'Calls'
    operator: 'GreaterThan'
    threshold: 0
    why: 'Converge Gate answered 401 or 403 (blik.gateway.calls by status, the Critical event GatewayKeyRejected): the secret key is wrong, revoked or rotated without updating Key Vault, so every payment fails. Threshold: any call, every minute over one minute (the smallest a log search alert allows). Critical: no one can pay.'
    runbookAnchor: 'alert-converge-gate-refuses-our-key'
  }
  {
    name: 'pay-refused-our-account'
    displayName: 'Converge Gate refuses our pays'
    severity: 0
    frequency: 'PT1M'
    window: 'PT1M'
    query: '''
AppMetrics
| where Name == "blik.codes.submitted" and tostring(Properties.outcome) == "merchant_refused"
| summarize Codes = sum(Sum)
'''
    timeAggregation: 'Total'
    measure: 'Codes'
    operator: 'GreaterThan'
    threshold: 0
    why: 'Converge Gate answered a pay with 401, 403 or 404 (blik.codes.submitted, outcome "merchant_refused", the Critical event PayRefusedOurAccount): not the shopper\'s code but our key or account, or a gateway that does not know the sessions it created for us (ConvergeGate__BaseUrl on another account or environment). A rule of its own rather than part of gateway-key-rejected, because a 404 is no key problem and that rule reads calls by status, not pays. Threshold: any, every minute over one minute (the smallest a log search alert allows). Critical: every shopper who enters a code gets 503.'
    runbookAnchor: 'alert-converge-gate-refuses-our-pays'
  }
  {
    name: 'livemode-mismatch'
    displayName: 'Converge Gate livemode is not the key\'s'
    severity: 0
    frequency: 'PT1M'
    window: 'PT1M'
    query: '''
AppMetrics
| where Name == "blik.gateway.livemode_mismatches"
| summarize Answers = sum(Sum)
'''
    timeAggregation: 'Total'
    measure: 'Answers'
    operator: 'GreaterThan'
    threshold: 0
    why: 'Converge Gate answered with a livemode other than the secret key says (blik.gateway.livemode_mismatches by operation, the Critical event LivemodeMismatch): a test key that gets live objects takes real money in what someone thinks is a test, a live key that gets test objects takes none. Threshold: any, every minute over one minute (the smallest a log search alert allows). Critical: live money is at stake.'
    runbookAnchor: 'alert-converge-gate-livemode-is-not-the-keys'
  }
  {
    name: 'webhook-signature-failures'
    displayName: 'Webhook signatures refused'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    query: '''
AppMetrics
| where Name == "blik.webhooks"
| summarize Received = sum(Sum), Refused = sumif(Sum, tostring(Properties.reason) == "signature mismatch")
| where Refused >= 5
| extend RefusedPct = 100.0 * Refused / Received
'''
    timeAggregation: 'Maximum'
    measure: 'RefusedPct'
    operator: 'GreaterThan'
    threshold: 10
    why: 'More than 10% of the webhooks in 15 minutes, and at least 5, failed signature verification (blik.webhooks, reason "signature mismatch"): a rotated key not given to the app, or someone probing the endpoint. Threshold: a stray bad request stays below 5; a wrong key refuses nearly 100%. Warning: the sweep still settles sessions, slower.'
    runbookAnchor: 'alert-webhook-signatures-refused'
  }
  {
    name: 'gateway-failures'
    displayName: 'Converge Gate failing'
    severity: 1
    frequency: 'PT5M'
    window: 'PT10M'
    query: '''
AppMetrics
| where Name == "blik.gateway.calls"
| summarize Calls = sum(Sum), Failed = sumif(Sum, tostring(Properties.outcome) == "failed")
| where Calls >= 10
| extend FailedPct = 100.0 * Failed / Calls
'''
    timeAggregation: 'Maximum'
    measure: 'FailedPct'
    operator: 'GreaterThan'
    threshold: 10
    why: 'More than 10% of at least 10 Converge Gate calls in 10 minutes failed: 5xx, 429, timeouts, unreachable, or refused by our own circuit breaker (blik.gateway.calls, outcome "failed"). Threshold: a healthy gateway fails well under 1%; 10% is reached before the circuit breaker opens at 50% and answers every shopper 503. Error: payments are failing.'
    runbookAnchor: 'alert-converge-gate-failing'
  }
  {
    name: 'fulfilment-unsent'
    displayName: 'Fulfilment messages not sent'
    severity: 1
    frequency: 'PT10M'
    window: 'PT30M'
    query: '''
AppMetrics
| where Name in ("blik.fulfilment.owed", "blik.fulfilment.sent")
| summarize Owed = sumif(Sum, Name == "blik.fulfilment.owed" and TimeGenerated < ago(10m)), Sent = sumif(Sum, Name == "blik.fulfilment.sent")
| extend Unsent = Owed - Sent
'''
    timeAggregation: 'Maximum'
    measure: 'Unsent'
    operator: 'GreaterThan'
    threshold: 0
    why: 'Fulfilment messages owed more than 10 minutes ago (20 times the 30 s claim lease, after which the sweep resends) outnumber those sent in the last 30 minutes (blik.fulfilment.owed minus blik.fulfilment.sent): a paid order the shop has not heard of. Threshold: any. A message owed just before the window and sent inside it can hide one; the next evaluation, 10 minutes later, sees it again.'
    runbookAnchor: 'alert-fulfilment-messages-not-sent'
  }
  {
    name: 'refund-unresolved'
    displayName: 'Refund unresolved for 24 hours'
    severity: 1
    frequency: 'PT5M'
    window: 'PT5M'
    query: '''
AppMetrics
| where Name == "blik.refunds.unresolved"
| summarize Refunds = sum(Sum)
'''
    timeAggregation: 'Total'
    measure: 'Refunds'
    operator: 'GreaterThan'
    threshold: 0
    why: 'A refund is still pending at Converge Gate, or its outcome still unknown after the gateway\'s answer was lost, 24 hours after it was asked for (blik.refunds.unresolved by state, the Critical event RefundUnresolved; counted once per refund by the sweep). Threshold: any, because each one is a merchant\'s money held with no answer. Every 5 minutes over 5, not every minute: it has waited a day already, and the sweep raises it once. Error: someone must ask Converge Gate.'
    runbookAnchor: 'alert-refund-unresolved-for-24-hours'
  }
  {
    name: 'http-server-errors'
    displayName: 'HTTP 500 from the app'
    severity: 2
    frequency: 'PT5M'
    window: 'PT5M'
    query: '''
AppRequests
| where isnotempty(Url) and toint(ResultCode) >= 500 and ResultCode !in ("502", "503")
| summarize Failed = count()
'''
    timeAggregation: 'Total'
    measure: 'Failed'
    operator: 'GreaterThan'
    threshold: 0
    why: 'An HTTP function answered a 5xx other than 502/503 (AppRequests, written by the Functions host). Threshold: any, because nothing a caller sends may produce a 500, so each one is a bug. 502 (the gateway refused) and 503 (gateway or storage unavailable, with Retry-After) are deliberate answers, left to the gateway and sweep alerts.'
    runbookAnchor: 'alert-http-500-from-the-app'
  }
]

@description('Built-in role Reader: what a log search alert\'s identity needs on the workspace it queries.')
var readerRoleId = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' existing = {
  name: workspaceName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-09-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2026-09-01' existing = {
  parent: storage
  name: 'default'
}

resource site 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionAppName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('${baseName}-alerts', 12)
    enabled: true
    emailReceivers: [for (address, i) in alertEmailAddresses: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
    // The secure URL goes here and nowhere else (tests/Blik.Deployment.Tests, SecretsTests).
    webhookReceivers: empty(alertWebhookUrl ?? '') ? [] : [
      {
        name: 'webhook'
        serviceUri: alertWebhookUrl!
        useCommonAlertSchema: true
      }
    ]
  }
}

// One identity for every log search alert, granted Reader on the workspace before any rule exists, so no rule runs
// (or runs as whoever deployed it) before it may read. It can do nothing else.
resource alertsIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: alertsIdentityName
  location: location
  tags: tags
}

resource workspaceReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, alertsIdentity.id, readerRoleId)
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', readerRoleId)
    principalId: alertsIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queryRules 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [for rule in queryAlerts: {
  name: '${baseName}-${rule.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${alertsIdentity.id}': {}
    }
  }
  properties: {
    displayName: rule.displayName
    description: '${rule.why} Runbook: ${runbookUrl}#${rule.runbookAnchor}'
    severity: rule.severity
    enabled: true
    scopes: [
      workspace.id
    ]
    evaluationFrequency: rule.frequency
    windowSize: rule.window
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: rule.timeAggregation
          metricMeasureColumn: rule.?measure
          operator: rule.operator
          threshold: rule.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
      customProperties: {
        runbook: '${runbookUrl}#${rule.runbookAnchor}'
      }
    }
  }
  dependsOn: [
    workspaceReader
  ]
}]

resource queueBacklog 'Microsoft.Insights/metricAlerts@2026-01-01' = {
  name: '${baseName}-queue-backlog'
  location: 'global'
  tags: tags
  properties: {
    description: 'More than 1000 messages on average over an hour in the storage account\'s queues (QueueMessageCount: checkout-events, its poison queue and the fulfilment queue together). A backstop: the metric is per account and hourly, so it is slow and cannot say which queue, but it needs nothing from the app, so it still works if the app\'s own telemetry stops. Threshold: at normal load the queues hold a handful of messages; 1000 means a consumer (the app\'s processor, or the shop\'s fulfilment reader) has stopped. Runbook: ${runbookUrl}#alert-queue-backlog'
    severity: 2
    enabled: true
    scopes: [
      queueService.id
    ]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'QueueMessageCount'
          metricNamespace: 'Microsoft.Storage/storageAccounts/queueServices'
          metricName: 'QueueMessageCount'
          timeAggregation: 'Average'
          operator: 'GreaterThan'
          threshold: 1000
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
        webHookProperties: {
          runbook: '${runbookUrl}#alert-queue-backlog'
        }
      }
    ]
  }
}

resource platform5xx 'Microsoft.Insights/metricAlerts@2026-01-01' = {
  name: '${baseName}-http-5xx-platform'
  location: 'global'
  tags: tags
  properties: {
    description: 'The Function App answered more than 25 HTTP 5xx in 5 minutes, as the platform counts them (Http5xx). It sees what AppRequests cannot: a host that does not start or a worker that crashed, whose requests never reach the app\'s telemetry. Threshold: 25 in 5 minutes, not zero, because the app\'s deliberate 502/503 answers during a gateway or storage outage count here too (those page through the gateway and sweep alerts). Runbook: ${runbookUrl}#alert-http-5xx-at-the-platform'
    severity: 2
    enabled: true
    scopes: [
      site.id
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'Http5xx'
          metricNamespace: 'Microsoft.Web/sites'
          metricName: 'Http5xx'
          timeAggregation: 'Total'
          operator: 'GreaterThan'
          threshold: 25
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
        webHookProperties: {
          runbook: '${runbookUrl}#alert-http-5xx-at-the-platform'
        }
      }
    ]
  }
}
