using System.Net;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Security.KeyVault.Secrets;
using Blik.Checkout.Configuration;
using Microsoft.Extensions.Configuration;

namespace Blik.Checkout.Tests;

/// <summary>The real SecretClient, over a transport that plays Key Vault (challenge, then secrets).</summary>
public sealed class KeyVaultSecretsTests
{
    private static readonly Uri Vault = new("https://blik-test.vault.azure.net/");

    [Fact]
    public void With_a_vault_configured_its_secrets_override_the_settings_and_missing_ones_are_skipped()
    {
        var vault = new FakeVault { ["ConvergeGate--SecretKey"] = "sk_test_from_vault" };
        var builder = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["KeyVault:Uri"] = Vault.ToString(),
            ["ConvergeGate:SecretKey"] = "sk_test_from_settings",
        });

        var configuration = builder.AddKeyVaultSecrets(uri => vault.Client(uri)).Build();

        Assert.Equal("sk_test_from_vault", configuration["ConvergeGate:SecretKey"]);
        Assert.Null(configuration["ConvergeGate:PreviousSecretKey"]);
        Assert.Equal(["/secrets/ConvergeGate--SecretKey", "/secrets/ConvergeGate--PreviousSecretKey"], vault.SecretsAsked);
        Assert.True(vault.SawBearerToken);
    }

    [Fact]
    public void Without_a_vault_configured_nothing_is_read()
    {
        var vault = new FakeVault();
        var builder = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["ConvergeGate:SecretKey"] = "sk_test_x" });

        var configuration = builder.AddKeyVaultSecrets(uri => vault.Client(uri)).Build();

        Assert.Equal("sk_test_x", configuration["ConvergeGate:SecretKey"]);
        Assert.Empty(vault.SecretsAsked);
    }

    [Theory]
    [InlineData("http://blik-test.vault.azure.net/")]
    [InlineData("blik-test")]
    public void A_vault_uri_that_is_not_https_is_refused_naming_the_setting(string uri)
    {
        var builder = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["KeyVault:Uri"] = uri });

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddKeyVaultSecrets(u => new FakeVault().Client(u)));

        Assert.Contains("KeyVault__Uri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_vault_that_refuses_access_stops_start_up_with_the_role_to_grant()
    {
        var vault = new FakeVault { Forbidden = true };
        var builder = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["KeyVault:Uri"] = Vault.ToString() });

        var error = Assert.Throws<InvalidOperationException>(() => builder.AddKeyVaultSecrets(uri => vault.Client(uri)));

        Assert.Contains("Key Vault Secrets User", error.Message, StringComparison.Ordinal);
        Assert.Contains("403", error.Message, StringComparison.Ordinal);
    }

    private sealed class FakeVault : HttpMessageHandler
    {
        private readonly Dictionary<string, string> _secrets = new(StringComparer.Ordinal);

        public List<string> SecretsAsked { get; } = [];
        public bool SawBearerToken { get; private set; }
        public bool Forbidden { get; init; }

        public string this[string name]
        {
            set => _secrets[name] = value;
        }

        public SecretClient Client(Uri uri) => new(uri, new FixedToken(), new SecretClientOptions
        {
            Transport = new HttpClientTransport(new HttpClient(this)),
            DisableChallengeResourceVerification = true,
            Retry = { MaxRetries = 0 },
        });

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(Send(request, cancellationToken));

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Headers.Authorization is null)
            {
                var challenge = new HttpResponseMessage(HttpStatusCode.Unauthorized);
                challenge.Headers.TryAddWithoutValidation("WWW-Authenticate",
                    "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"");
                return challenge;
            }

            SawBearerToken |= request.Headers.Authorization.Scheme == "Bearer" && request.Headers.Authorization.Parameter == "vault-token";
            var path = request.RequestUri!.AbsolutePath.TrimEnd('/');
            SecretsAsked.Add(path);
            var name = path.Split('/').Last();
            if (Forbidden)
            {
                return Json(HttpStatusCode.Forbidden, "{\"error\":{\"code\":\"Forbidden\",\"message\":\"Caller is not authorized.\"}}");
            }

            return _secrets.TryGetValue(name, out var value)
                ? Json(HttpStatusCode.OK, $"{{\"value\":\"{value}\",\"id\":\"{Vault}secrets/{name}/0123456789abcdef\",\"attributes\":{{\"enabled\":true}}}}")
                : Json(HttpStatusCode.NotFound, $"{{\"error\":{{\"code\":\"SecretNotFound\",\"message\":\"A secret with (name/id) {name} was not found in this key vault.\"}}}}");
        }

        private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
            new(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
    }

    private sealed class FixedToken : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            new("vault-token", DateTimeOffset.UtcNow.AddHours(1));

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
