using System.Text.Json;
using Blik.Checkout.Sessions;

namespace Blik.Checkout.Refunds;

/// <summary>The refund body: all optional (<c>{}</c> refunds what remains), each problem keyed by its field.</summary>
public static class CreateRefundValidator
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "amount", "reason", "metadata" };

    public static CreateRefundRequest? Validate(JsonElement root, ValidationErrors errors)
    {
        var fields = CreateSessionValidator.Fields(root, Known, errors);
        if (fields is null)
        {
            return null;
        }

        long? amount = null;
        if (fields.TryGetValue("amount", out var amountField) && amountField.ValueKind != JsonValueKind.Null)
        {
            amount = CreateSessionValidator.RequiredInteger(fields, "amount", errors);
            if (amount is < 1)
            {
                errors.Add("amount", "Must be a positive integer (minor units).");
            }
        }

        var reason = CreateSessionValidator.OptionalString(fields, "reason", 40, errors);
        if (reason is not null && !CreateRefundRequest.Reasons.Contains(reason, StringComparer.Ordinal))
        {
            errors.Add("reason", "Must be one of: " + string.Join(", ", CreateRefundRequest.Reasons) + ".");
        }

        var metadata = CreateSessionValidator.Metadata(fields, errors);
        return errors.Count > 0 ? null : new CreateRefundRequest(amount, reason, metadata);
    }
}
