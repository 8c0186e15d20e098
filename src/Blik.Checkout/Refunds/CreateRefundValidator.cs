using System.Text.Json;
using Blik.Checkout.Sessions;

namespace Blik.Checkout.Refunds;

/// <summary>The refund body: all optional (<c>{}</c> refunds what remains), each problem keyed by its field.</summary>
public static class CreateRefundValidator
{
    private static readonly HashSet<string> Known = new(StringComparer.Ordinal) { "amount", "reason", "metadata" };

    public static CreateRefundRequest? Validate(JsonElement root, ValidationErrors errors)
    {
        if (JsonFields.Strict(root, Known, errors) is not { } body)
        {
            return null;
        }

        var request = new CreateRefundRequest(
            Amount: body.Integer("amount", required: false).Must(a => a >= 1, "Must be a positive integer (minor units)."),
            Reason: body.String("reason", 40, required: false)
                .Must(r => CreateRefundRequest.Reasons.Contains(r, StringComparer.Ordinal), "Must be one of: " + string.Join(", ", CreateRefundRequest.Reasons) + "."),
            Metadata: body.Metadata());
        return errors.Count > 0 ? null : request;
    }
}
