namespace ConvergeGate.Sandbox.Tests;

public sealed class ExpiryTests
{
    [Fact]
    public async Task SessionExpiresAtExpiresAtOnTheManualClockAndSendsSessionExpired()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client, receiver.Url)).Id();

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));
        var before = await Sbx.GetSessionAsync(client, id);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(1));
        var after = await Sbx.GetSessionAsync(client, id);

        Assert.Equal("open", before.Status());
        Assert.Equal("expired", after.Status());
        var expired = receiver.Received[^1];
        Assert.Equal("session.expired", expired.Type);
        Assert.Equal("expired", expired.Json.GetProperty("data").Str("status"));
        Assert.Equal(Sbx.Start.AddHours(24).ToUnixTimeSeconds(), expired.Json.GetProperty("created_at").GetInt64());
    }

    [Fact]
    public async Task ExpiryIsAppliedLazilyOnReadEvenWithoutTheScheduler()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        sandbox.Clock.ClearScheduledWork();

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(24));

        Assert.Equal("expired", (await Sbx.GetSessionAsync(client, id)).Status());
    }

    [Fact]
    public async Task APendingAttemptDueBeforeExpiryIsResolvedFirst()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        sandbox.Clock.ClearScheduledWork();
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(5));
        await Sbx.PayAsync(client, id, BlikTestCodes.Success);
        sandbox.Clock.ClearScheduledWork();

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(1));

        Assert.Equal("completed", (await Sbx.GetSessionAsync(client, id)).Status());
    }

    [Fact]
    public async Task APendingAttemptNotDueByExpiryIsCancelledAndTheSessionExpires()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var id = (await Sbx.CreateSessionAsync(client)).Id();
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(24) - TimeSpan.FromSeconds(1));

        await Sbx.PayAsync(client, id, BlikTestCodes.Success);
        await sandbox.Clock.AdvanceAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("expired", (await Sbx.GetSessionAsync(client, id)).Status());
        Assert.Equal("cancelled", Assert.Single(sandbox.Sessions[id].Attempts).Outcome);
    }

    [Fact]
    public async Task CustomExpiresAtIsHonoured()
    {
        await using var sandbox = await Sbx.StartAsync();
        using var client = Sbx.Client(sandbox);
        var expiresAt = Sbx.Start.AddHours(3).ToUnixTimeSeconds();
        var id = (await Sbx.CreateSessionAsync(client, change: f => f["expires_at"] = expiresAt.ToString(System.Globalization.CultureInfo.InvariantCulture))).Id();

        await sandbox.Clock.AdvanceAsync(TimeSpan.FromHours(3));

        Assert.Equal("expired", sandbox.Sessions[id].Status);
    }
}
