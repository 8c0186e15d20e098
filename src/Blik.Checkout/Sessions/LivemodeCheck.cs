using Blik.Checkout.Configuration;
using Blik.Checkout.Diagnostics;
using Blik.Checkout.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Blik.Checkout.Sessions;

/// <summary>
/// Holds the gateway to the mode the key says: a live key (anything but <c>sk_test_…</c>) must get live objects, a test
/// key test ones. A difference means payments are not what the shop thinks they are (real money taken in "test", or
/// none taken in "live"): it is reported on every answer that shows it, as a Critical event and a metric.
/// </summary>
public sealed class LivemodeCheck(IOptions<ConvergeGateOptions> options, CheckoutMetrics metrics, ILogger<LivemodeCheck> logger)
{
    private readonly bool _keyIsLive = options.Value.ExpectsLivemode;

    /// <returns>Whether the session's mode is the one the key says.</returns>
    public bool Observe(GatewaySession session, string operation)
    {
        if (session.Livemode == _keyIsLive)
        {
            return true;
        }

        metrics.LivemodeMismatch(operation);
        SessionLog.LivemodeMismatch(logger, session.Id, operation, session.Livemode, _keyIsLive);
        return false;
    }
}
