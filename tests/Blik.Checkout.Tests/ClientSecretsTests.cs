using Blik.Checkout.Configuration;
using Blik.Checkout.Sessions;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Tests;

public sealed class ClientSecretsTests
{
    private const string SessionId = "2AW-kLcRRC5P8U68CYe0kVA";
    private const string Key = "sk_test_local_sandbox";
    private const string NewKey = "sk_test_rotated_in_00000";

    // python3 -c "import hmac,hashlib,base64; k=hashlib.sha256(b'client-secret:sk_test_local_sandbox').digest(); print('cs_'+base64.urlsafe_b64encode(hmac.new(k,b'2AW-kLcRRC5P8U68CYe0kVA',hashlib.sha256).digest()).decode().rstrip('='))"
    private const string KnownSecret = "cs_pcv2zXN2FCoarv0bzC_aFY2g3kJz_15fnKZGMHS6LUE";

    private static ClientSecrets Secrets(string? key, string? previous = null) =>
        new(Options.Create(new ConvergeGateOptions { SecretKey = key, PreviousSecretKey = previous }));

    [Fact]
    public void An_issued_secret_verifies_for_its_session()
    {
        var secrets = Secrets(Key);

        Assert.True(secrets.Verify(SessionId, secrets.Issue(SessionId)));
    }

    [Fact]
    public void The_secret_matches_the_documented_derivation() => Assert.Equal(KnownSecret, Secrets(Key).Issue(SessionId));

    [Fact]
    public void The_secret_is_cs_followed_by_43_base64url_characters()
    {
        var secrets = Secrets(Key);
        foreach (var id in new[] { SessionId, "a", new string('z', 64), "sess_1" })
        {
            Assert.Matches("^cs_[A-Za-z0-9_-]{43}$", secrets.Issue(id));
        }
    }

    [Fact]
    public void Issuing_twice_gives_the_same_secret() => Assert.Equal(Secrets(Key).Issue(SessionId), Secrets(Key).Issue(SessionId));

    [Fact]
    public void A_secret_does_not_verify_for_another_session()
    {
        var secrets = Secrets(Key);

        Assert.False(secrets.Verify("2AW-kLcRRC5P8U68CYe0kVB", secrets.Issue(SessionId)));
        Assert.NotEqual(secrets.Issue("2AW-kLcRRC5P8U68CYe0kVB"), secrets.Issue(SessionId));
    }

    [Fact]
    public void A_tampered_secret_does_not_verify()
    {
        var secrets = Secrets(Key);
        var secret = secrets.Issue(SessionId);

        for (var i = 0; i < secret.Length; i++)
        {
            var chars = secret.ToCharArray();
            chars[i] = chars[i] == 'A' ? 'B' : 'A';
            Assert.False(secrets.Verify(SessionId, new string(chars)));
        }

        Assert.False(secrets.Verify(SessionId, secret[..^1]));
        Assert.False(secrets.Verify(SessionId, secret + "A"));
        Assert.False(secrets.Verify(SessionId, secret[3..]));
        Assert.False(secrets.Verify(SessionId, secret.ToUpperInvariant()));
        Assert.False(secrets.Verify(SessionId, " " + secret));
    }

    [Fact]
    public void A_secret_issued_under_another_key_does_not_verify() =>
        Assert.False(Secrets(NewKey).Verify(SessionId, Secrets(Key).Issue(SessionId)));

    [Fact]
    public void During_rotation_secrets_issued_under_the_previous_key_still_verify()
    {
        var issuedBefore = Secrets(Key).Issue(SessionId);
        var rotated = Secrets(NewKey, previous: Key);

        Assert.True(rotated.Verify(SessionId, issuedBefore));
        Assert.True(rotated.Verify(SessionId, rotated.Issue(SessionId)));
        Assert.Equal(Secrets(NewKey).Issue(SessionId), rotated.Issue(SessionId));
    }

    [Fact]
    public void After_rotation_ends_the_old_secrets_stop_verifying() =>
        Assert.False(Secrets(NewKey).Verify(SessionId, Secrets(Key).Issue(SessionId)));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void An_empty_presented_secret_does_not_verify(string? presented) => Assert.False(Secrets(Key).Verify(SessionId, presented));

    [Fact]
    public void An_oversized_presented_secret_does_not_verify()
    {
        var secrets = Secrets(Key);

        Assert.False(secrets.Verify(SessionId, secrets.Issue(SessionId) + new string('A', 200)));
        Assert.False(secrets.Verify(SessionId, new string('A', 100_000)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_secret_key_no_secrets_can_be_issued(string? key) =>
        Assert.Throws<InvalidOperationException>(() => Secrets(key));

    [Fact]
    public void The_secret_is_not_the_gateway_key_or_the_webhook_key()
    {
        var secret = Secrets(Key).Issue(SessionId);

        Assert.DoesNotContain(Key, secret, StringComparison.Ordinal);
        Assert.NotEqual(
            "cs_" + Convert.ToBase64String(Blik.Checkout.Webhooks.WebhookSignature.DeriveKey(Key)).TrimEnd('='),
            secret);
    }
}
