namespace Blik.Storage.Tests;

public sealed class SharedKeySigningTests
{
    private const string Date = "Mon, 01 Jan 2024 00:00:00 GMT";
    private static readonly byte[] DevKey = Convert.FromBase64String(
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==");

    [Fact]
    public void Table_lite_path_style_repeats_the_account_in_the_canonicalized_resource()
    {
        var sts = SharedKeySigning.TableSharedKeyLiteStringToSign(
            Date, "devstoreaccount1", new Uri("http://127.0.0.1:10002/devstoreaccount1/Tables"));

        Assert.Equal("Mon, 01 Jan 2024 00:00:00 GMT\n/devstoreaccount1/devstoreaccount1/Tables", sts);
        // HMAC-SHA256 computed independently of this code base.
        Assert.Equal("13UOPPE/P1+LLsRFYJCHphuPCEQ21EO/4WbbW+OXG4U=", SharedKeySigning.Sign(sts, DevKey));
    }

    [Fact]
    public void Table_lite_host_style_uses_the_path_once_and_keeps_only_comp_from_the_query()
    {
        var sts = SharedKeySigning.TableSharedKeyLiteStringToSign(
            Date, "blikprod", new Uri("https://blikprod.table.core.windows.net/orders?timeout=5&comp=acl"));

        Assert.Equal("Mon, 01 Jan 2024 00:00:00 GMT\n/blikprod/orders?comp=acl", sts);
    }

    [Fact]
    public void Table_lite_signs_the_encoded_entity_path_as_sent()
    {
        var sts = SharedKeySigning.TableSharedKeyLiteStringToSign(
            Date, "blikprod", new Uri("https://blikprod.table.core.windows.net/orders(PartitionKey='O%27%27Brien',RowKey='a%20b')?$filter=x"));

        Assert.Equal("Mon, 01 Jan 2024 00:00:00 GMT\n/blikprod/orders(PartitionKey='O%27%27Brien',RowKey='a%20b')", sts);
    }

    [Fact]
    public void Queue_shared_key_path_style_string_to_sign_matches_the_documented_layout()
    {
        var headers = new Dictionary<string, string>
        {
            ["x-ms-version"] = "2021-12-02",
            ["Content-Type"] = "application/xml; charset=utf-8",
            ["X-MS-Date"] = Date,
            ["x-ms-client-request-id"] = "  abc ",
            ["Content-Length"] = "80",
            ["Accept"] = "application/xml",
        };

        var sts = SharedKeySigning.SharedKeyStringToSign(
            "post", headers, "devstoreaccount1",
            new Uri("http://127.0.0.1:10001/devstoreaccount1/orders/messages?visibilitytimeout=0&messagettl=-1"));

        Assert.Equal(
            "POST\n\n\n80\n\napplication/xml; charset=utf-8\n\n\n\n\n\n\n" +
            "x-ms-client-request-id:abc\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-12-02\n" +
            "/devstoreaccount1/devstoreaccount1/orders/messages\nmessagettl:-1\nvisibilitytimeout:0",
            sts);
        Assert.Equal("fcdW6xzk4nYTuOgK8ZowEqqKfAtWadq8O0o/HMYD678=", SharedKeySigning.Sign(sts, DevKey));
    }

    [Fact]
    public void Queue_shared_key_host_style_decodes_query_values_and_blanks_zero_content_length()
    {
        var headers = new Dictionary<string, string>
        {
            ["x-ms-date"] = Date,
            ["x-ms-version"] = "2021-12-02",
            ["Content-Length"] = "0",
        };

        var sts = SharedKeySigning.SharedKeyStringToSign(
            "DELETE", headers, "blikprod",
            new Uri("https://blikprod.queue.core.windows.net/orders/messages/abc?popreceipt=AgAAAA%2B%2F%3D%3D&Timeout=5"));

        Assert.Equal(
            "DELETE\n\n\n\n\n\n\n\n\n\n\n\n" +
            "x-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-12-02\n" +
            "/blikprod/orders/messages/abc\npopreceipt:AgAAAA+/==\ntimeout:5",
            sts);
    }
}
