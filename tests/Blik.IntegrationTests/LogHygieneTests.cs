using System.Text;
using Blik.Checkout.Webhooks;
using Blik.Testing;
using ConvergeGate.Sandbox;

using GatewaySigner = ConvergeGate.Sandbox.WebhookSignature;

namespace Blik.IntegrationTests;

[Collection("azurite")]
public sealed class LogHygieneTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task No_code_key_client_secret_signature_email_or_phone_reaches_the_logs()
    {
        await using var stack = await ServiceStack.StartAsync(azurite);
        var session = await stack.CreateSessionAsync();
        (await stack.PayAsync(session, BlikTestCodes.Invalid)).Dispose();
        (await stack.PayAsync(session, "777642")).Dispose();
        await stack.WaitForStatusAsync(session, "completed");
        const string timestamp = "1800000000";
        var body = ServiceStack.EventBody(session.Id);
        var signature = GatewaySigner.Compute(ServiceStack.SecretKey, timestamp, Encoding.UTF8.GetBytes(body));
        (await stack.PostWebhookAsync(body, timestamp, signature)).Dispose();
        (await stack.PostWebhookAsync(body, timestamp, "deadbeef" + signature[8..])).Dispose();
        await Task.Delay(500);

        var forbidden = new[] { "777642", BlikTestCodes.Invalid, ServiceStack.SecretKey, session.ClientSecret, signature, signature[8..], "jan.kowalski@example.com", "+48123456789", "48123456789" };
        var lines = stack.Logs.Lines.ToArray();

        Assert.NotEmpty(lines);
        Assert.Contains(lines, l => l.Contains(session.Id, StringComparison.Ordinal)); // the logs do say what happened
        foreach (var secret in forbidden)
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"'{secret}' appears in a log line: {leak}");
        }
    }
}
