using Blik.DevServices;
using Blik.Testing;
using ConvergeGate.Sandbox;

namespace Blik.IntegrationTests;

[Collection(AzuriteFixture.Collection)]
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
        var body = Webhooks.EventBody(session.Id);
        var signature = Webhooks.Sign(ServiceStack.SecretKey, timestamp, body);
        (await stack.PostWebhookAsync(body, timestamp, signature)).Dispose();
        (await stack.PostWebhookAsync(body, timestamp, "deadbeef" + signature[8..])).Dispose();
        await stack.WaitForEventsAsync();

        var forbidden = new[] { "777642", BlikTestCodes.Invalid, ServiceStack.SecretKey, session.ClientSecret, signature, signature[8..], SessionBodies.Email, SessionBodies.Phone, SessionBodies.Phone[1..] };
        var lines = stack.Logs.Lines.ToArray();

        // What is scanned: the host's own log, the app's logs relayed from the worker, and the worker's console.
        Assert.Contains(lines, l => l.Contains(session.Id, StringComparison.Ordinal) && l.Contains(" Host.Worker.Blik.", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" Host.Results:", StringComparison.Ordinal));
        foreach (var secret in forbidden)
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.Ordinal));
            Assert.True(leak is null, $"'{secret}' appears in a log line: {leak}");
        }
    }
}
