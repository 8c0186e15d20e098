namespace Blik.DevServices;

/// <summary>
/// The one body of <c>POST /api/checkout/sessions</c> the repository's own callers send: the local demo shop, the
/// tests and the benchmark. A dictionary, so a test can change or remove a field.
/// </summary>
public static class SessionBodies
{
    public const string Email = "jan.kowalski@example.com";
    public const string Phone = "+48123456789";

    public static Dictionary<string, object?> Create(
        long amount = 1000,
        string? orderId = null,
        string successUrl = "https://shop.example/thanks",
        string? cancelUrl = "https://shop.example/cart",
        long? expiresAt = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["amount"] = amount,
            ["currency"] = "pln",
            ["customer_email"] = Email,
            ["customer_firstname"] = "Jan",
            ["customer_lastname"] = "Kowalski",
            ["customer_phone"] = Phone,
            ["success_url"] = successUrl,
            ["cancel_url"] = cancelUrl,
            ["order_id"] = orderId ?? "order-" + Guid.NewGuid().ToString("N")[..10],
            ["metadata"] = new Dictionary<string, string> { ["cart"] = "42" },
        };
        if (expiresAt is not null)
        {
            body["expires_at"] = expiresAt;
        }

        return body;
    }
}
