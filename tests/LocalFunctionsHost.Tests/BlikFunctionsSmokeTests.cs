using System.Net;
using ConvergeGate.Sandbox;
using LocalFunctionsHost.Tests.Infrastructure;

namespace LocalFunctionsHost.Tests;

/// <summary>The real Blik.Functions app, published, runs through the host.</summary>
[Collection(HostCollection.Name)]
public sealed class BlikFunctionsSmokeTests(HostFixture fixture)
{
    [Fact]
    public async Task The_published_Blik_Functions_app_answers_health_with_200()
    {
        const string SecretKey = "sk_test_functions_host_smoke";
        var app = await fixture.PublishAsync("src/Blik.Functions/Blik.Functions.csproj", "blik-functions");
        await using var sandbox = await SandboxServer.StartAsync(new SandboxOptions { Port = 0, SecretKey = SecretKey, AllowInsecureNotificationUrls = true });
        await using var host = await TestHost.StartAsync(
            fixture,
            functions: null!,
            settings: s =>
            {
                s["AzureWebJobsStorage"] = fixture.ConnectionString;
                s["ConvergeGate__BaseUrl"] = sandbox.BaseAddress.ToString();
                s["ConvergeGate__SecretKey"] = SecretKey;
                s["Checkout__PublicBaseUrl"] = "http://127.0.0.1:7071";
            },
            configure: o => o with { Functions = null },
            scriptRoot: app);

        using var response = await host.Http.GetAsync("api/health");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}\n{host.Logs.Tail()}");
        Assert.Contains(host.Host.Functions, f => f.Name == "ProcessEvent" && f.Trigger == TriggerKind.Queue);
        Assert.Contains(host.Host.Functions, f => f.Name == "Sweep" && f.Trigger == TriggerKind.Timer);
    }
}
