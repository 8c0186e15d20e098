using System.Text;
using Blik.Checkout.Webhooks;

namespace Blik.Checkout.Tests;

public sealed class WebhookSignatureTests
{
    private const string Key = "sk_test_local_sandbox";
    private const string Timestamp = "1700000000";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt_1"}""");

    // python3 -c "import hmac,hashlib; k=hashlib.sha256(b'sk_test_local_sandbox').digest(); print(hmac.new(k, b'1700000000'+b'{\"id\":\"evt_1\"}', hashlib.sha256).hexdigest())"
    // Cross-checked: printf '%s' '1700000000{"id":"evt_1"}' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$(printf '%s' sk_test_local_sandbox | openssl dgst -sha256 -r | cut -d' ' -f1)
    private const string KnownHex = "0a53aa53b94bd18bd27e35745adbc7be5b4b7b7c45c84d4e13d0863d38f73efc";

    // Same key and body, Sec-Timestamp 1700000006, chosen because its base64 has both '+' and '/':
    // python3 -c "import hmac,hashlib,base64; k=hashlib.sha256(b'sk_test_local_sandbox').digest(); m=hmac.new(k, b'1700000006'+b'{\"id\":\"evt_1\"}', hashlib.sha256).digest(); print(m.hex(), base64.b64encode(m).decode(), base64.urlsafe_b64encode(m).decode().rstrip('='))"
    private const string Timestamp6 = "1700000006";
    private const string Known6Hex = "479f8127312b51c6a48ad8fe520ef1740d5afc336afcbf4c34ba0fa5dde43552";
    private const string Known6Base64 = "R5+BJzErUcakitj+Ug7xdA1a/DNq/L9MNLoPpd3kNVI=";
    private const string Known6Base64Url = "R5-BJzErUcakitj-Ug7xdA1a_DNq_L9MNLoPpd3kNVI";

    // The same message under another key (as during a key rotation):
    // python3 -c "import hmac,hashlib; k=hashlib.sha256(b'sk_test_rotated_out_0000').digest(); print(hmac.new(k, b'1700000000'+b'{\"id\":\"evt_1\"}', hashlib.sha256).hexdigest())"
    private const string OtherKey = "sk_test_rotated_out_0000";
    private const string KnownHexOtherKey = "80627493ef6f2e6516f8ca5eff7a908e59db266c176e84744a348b3a34b71616";

    private static readonly byte[][] Keys = [WebhookSignature.DeriveKey(Key)];

    // The hex-string readings of the key ("SHA-256 of the secret API key" as the digest's hex text), computed with:
    // python3 -c "import hmac,hashlib; d=hashlib.sha256(b'sk_test_local_sandbox'); [print(hmac.new(k, b'1700000000'+b'{\"id\":\"evt_1\"}', hashlib.sha256).hexdigest()) for k in (d.hexdigest().encode(), d.hexdigest().upper().encode())]"
    private const string KnownHexWithHexKey = "acb77402b9726e56def05079ebf6011d017ee05cb33f1a008e38922e5def7762";
    private const string KnownBase64WithHexKey = "rLd0Arlyblbe8FB56/YBHQF+4FyzPxoAjjiSLl3vd2I=";
    private const string KnownHexWithUpperHexKey = "71c7cb427885814bba4132f6e47498a7bcc65142f1cd94fa6491acd6aa8b1c12";

    // The same for the key being rotated out (python3 as above with b'sk_test_rotated_out_0000').
    private const string KnownHexOtherKeyWithHexKey = "a67732efe61cdd58bf14cecd4f3f48d1841f74a6ce96930cda0a96b0529d342a";

    [Theory]
    [InlineData(KnownHex)]
    [InlineData(KnownHexWithHexKey)]
    [InlineData(KnownBase64WithHexKey)]
    [InlineData(KnownHexWithUpperHexKey)]
    public void Every_reading_of_the_documented_key_derivation_verifies(string signature) =>
        Assert.True(WebhookSignature.Verify([.. WebhookSignature.DeriveKeys(Key)], Timestamp, Body, signature));

    [Fact]
    public void A_signature_made_with_the_hex_string_key_does_not_verify_against_the_raw_digest_alone() =>
        Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body, KnownHexWithHexKey));

    [Fact]
    public void Both_keys_of_a_rotation_verify_in_both_readings()
    {
        byte[][] rotation = [.. WebhookSignature.DeriveKeys(Key), .. WebhookSignature.DeriveKeys(OtherKey)];

        Assert.True(WebhookSignature.Verify(rotation, Timestamp, Body, KnownHexWithHexKey));
        Assert.True(WebhookSignature.Verify(rotation, Timestamp, Body, KnownHexOtherKeyWithHexKey));
        Assert.True(WebhookSignature.Verify(rotation, Timestamp, Body, KnownHexOtherKey));
        Assert.False(WebhookSignature.Verify([.. WebhookSignature.DeriveKeys(Key)], Timestamp, Body, KnownHexOtherKeyWithHexKey));
    }

    [Fact]
    public void The_key_is_the_raw_sha256_digest_of_the_secret_key()
    {
        // printf '%s' sk_test_local_sandbox | openssl dgst -sha256 -r
        var key = WebhookSignature.DeriveKey(Key);

        Assert.Equal(32, key.Length);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Key)), key);
    }

    [Fact]
    public void Compute_matches_the_independently_computed_vector_in_lowercase_hex() =>
        Assert.Equal(KnownHex, WebhookSignature.Compute(WebhookSignature.DeriveKey(Key), Timestamp, Body));

    [Fact]
    public void Compute_matches_a_second_independent_vector() =>
        Assert.Equal(Known6Hex, WebhookSignature.Compute(WebhookSignature.DeriveKey(Key), Timestamp6, Body));

    [Theory]
    [InlineData(KnownHex)]
    [InlineData("0A53AA53B94BD18BD27E35745ADBC7BE5B4B7B7C45C84D4E13D0863D38F73EFC")]
    [InlineData("sha256=" + KnownHex)]
    [InlineData("SHA256=" + KnownHex)]
    [InlineData("ClOqU7lL0YvSfjV0WtvHvltLe3xFyE1OE9CGPTj3Pvw=")]
    [InlineData("ClOqU7lL0YvSfjV0WtvHvltLe3xFyE1OE9CGPTj3Pvw")]
    [InlineData("sha256=ClOqU7lL0YvSfjV0WtvHvltLe3xFyE1OE9CGPTj3Pvw=")]
    [InlineData(" " + KnownHex + " ")]
    public void The_known_signature_verifies_in_every_accepted_encoding(string signature) =>
        Assert.True(WebhookSignature.Verify(Keys, Timestamp, Body, signature));

    [Theory]
    [InlineData(Known6Hex)]
    [InlineData(Known6Base64)]
    [InlineData(Known6Base64Url)]
    [InlineData("sha256=" + Known6Base64Url)]
    public void Base64_with_plus_and_slash_and_its_url_safe_form_without_padding_verify(string signature) =>
        Assert.True(WebhookSignature.Verify(Keys, Timestamp6, Body, signature));

    [Fact]
    public void A_signature_with_one_bit_flipped_is_refused()
    {
        var bytes = Convert.FromHexString(KnownHex);
        for (var bit = 0; bit < bytes.Length * 8; bit += 37)
        {
            var flipped = (byte[])bytes.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));

            Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body, Convert.ToHexStringLower(flipped)));
            Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body, Convert.ToBase64String(flipped)));
        }
    }

    [Theory]
    [InlineData("1700000001")]
    [InlineData("1700000000 ")]
    [InlineData("")]
    [InlineData("17000000000")]
    public void A_different_timestamp_is_refused(string timestamp) =>
        Assert.False(WebhookSignature.Verify(Keys, timestamp, Body, KnownHex));

    [Fact]
    public void The_wrong_key_is_refused()
    {
        Assert.False(WebhookSignature.Verify([WebhookSignature.DeriveKey(OtherKey)], Timestamp, Body, KnownHex));
        Assert.False(WebhookSignature.Verify([Encoding.UTF8.GetBytes(Key)], Timestamp, Body, KnownHex));
        Assert.False(WebhookSignature.Verify([], Timestamp, Body, KnownHex));
    }

    [Fact]
    public void A_body_changed_by_one_byte_is_refused()
    {
        for (var i = 0; i < Body.Length; i++)
        {
            var changed = (byte[])Body.Clone();
            changed[i] ^= 0x01;

            Assert.False(WebhookSignature.Verify(Keys, Timestamp, changed, KnownHex));
        }

        Assert.False(WebhookSignature.Verify(Keys, Timestamp, [.. Body, (byte)' '], KnownHex));
        Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body.AsSpan(0, Body.Length - 1), KnownHex));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("0a53aa53b94bd18bd27e35745adbc7be5b4b7b7c45c84d4e13d0863d38f73ef")]
    [InlineData("0a53aa53b94bd18bd27e35745adbc7be5b4b7b7c45c84d4e13d0863d38f73efc00")]
    [InlineData("0a53aa53b94bd18bd27e35745adbc7be")]
    [InlineData("ClOqU7lL0YvSfjV0WtvHvltLe3xFyE1OE9CGPTj3P")]
    [InlineData("zz53aa53b94bd18bd27e35745adbc7be5b4b7b7c45c84d4e13d0863d38f73efc")]
    [InlineData("not a signature")]
    [InlineData("sha256=")]
    [InlineData("sha1=" + KnownHex)]
    [InlineData("t=1700000000,v1=" + KnownHex)]
    [InlineData("ClOqU7lL0YvSfjV0WtvHvltLe3xFyE1OE9CGPTj3P!w=")]
    public void Truncated_empty_or_garbage_signatures_are_refused(string? signature) =>
        Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body, signature));

    [Fact]
    public void A_signature_longer_than_128_characters_is_refused_before_decoding() =>
        Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body, KnownHex + new string(' ', 80)));

    [Fact]
    public void With_two_keys_during_rotation_a_signature_under_either_verifies()
    {
        byte[][] both = [WebhookSignature.DeriveKey(Key), WebhookSignature.DeriveKey(OtherKey)];

        Assert.True(WebhookSignature.Verify(both, Timestamp, Body, KnownHex));
        Assert.True(WebhookSignature.Verify(both, Timestamp, Body, KnownHexOtherKey));
        Assert.False(WebhookSignature.Verify(Keys, Timestamp, Body, KnownHexOtherKey));
        Assert.Equal(KnownHexOtherKey, WebhookSignature.Compute(WebhookSignature.DeriveKey(OtherKey), Timestamp, Body));
    }

    [Fact]
    public void An_empty_body_can_be_signed_and_verified()
    {
        var key = WebhookSignature.DeriveKey(Key);
        var signature = WebhookSignature.Compute(key, Timestamp, []);

        Assert.True(WebhookSignature.Verify([key], Timestamp, [], signature));
        Assert.False(WebhookSignature.Verify([key], Timestamp, Body, signature));
    }
}
