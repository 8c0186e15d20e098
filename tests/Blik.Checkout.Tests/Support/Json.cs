using System.Text.Json;

namespace Blik.Checkout.Tests.Support;

internal static class Json
{
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
