using Blik.Checkout.Configuration;
using Blik.Checkout.Gateway;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Refunds;

/// <summary>
/// How long something held while a gateway call runs must last: longer than the longest call the settings allow
/// (<c>ConvergeGate__Timeout</c> × (<c>ConvergeGate__ReadRetries</c> + 1) + 2 s × <c>ReadRetries</c>, the pipeline's
/// total timeout) plus the storage writes around it. A refund's reservation lasts exactly that; the start-up check
/// refuses an <c>Checkout__IdempotencyLease</c> shorter than it, since a key taken over while its first request still
/// waits for the gateway could create a second session.
/// </summary>
public sealed class GatewayCallLeases(IOptions<ConvergeGateOptions> gateway) : IValidateOptions<CheckoutOptions>
{
    /// <summary>The storage writes before and after one gateway call.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(30);

    /// <summary>The longest one gateway call can take, all attempts and waits included.</summary>
    public TimeSpan LongestCall => GatewayHttp.TotalTimeout(gateway.Value);

    /// <summary>How long a refund's reservation counts as waiting for its own gateway call.</summary>
    public TimeSpan ReservationLease => LongestCall + Margin;

    public ValidateOptionsResult Validate(string? name, CheckoutOptions options)
    {
        TimeSpan lease;
        try
        {
            lease = ReservationLease;
        }
        catch (OptionsValidationException)
        {
            return ValidateOptionsResult.Skip; // the gateway settings are wrong themselves, and say so on their own
        }

        return options.IdempotencyLease >= lease
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Setting {CheckoutOptions.Section}__IdempotencyLease ({options.IdempotencyLease:c}) must be at least the longest gateway call " +
                $"{ConvergeGateOptions.Section}__Timeout and {ConvergeGateOptions.Section}__ReadRetries allow plus {Margin.TotalSeconds:0} s ({lease:c}).");
    }
}
