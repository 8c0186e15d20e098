using System.Net;
using Blik.Checkout.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace Blik.Checkout.Gateway;

/// <summary>
/// The named <see cref="HttpClient"/> every Converge Gate call goes through, and the resilience pipeline around each
/// call (Microsoft.Extensions.Http.Resilience, Polly underneath). Outermost first:
/// <list type="number">
/// <item>a total timeout: every attempt of one call, and the waits between them, end within
/// <see cref="TotalTimeout"/>;</item>
/// <item>retries of reads only (GET a session or a refund: asking again changes nothing), exponential with jitter,
/// honouring a short <c>Retry-After</c>. Creates, pays and refunds are POSTs and are never repeated: the gateway
/// documents no idempotency keys, so a repeat could create, charge or refund twice;</item>
/// <item>a circuit breaker per app instance, so a dead gateway costs callers milliseconds instead of a timeout each;</item>
/// <item>a timeout per attempt (<c>ConvergeGate__Timeout</c>), covering the whole body (see
/// <see cref="WholeResponseHandler"/>).</item>
/// </list>
/// The breaker sits inside the retries, so it counts every attempt and an open circuit is not retried.
/// </summary>
public static class GatewayHttp
{
    /// <summary>The named client (for instrumentation that selects clients by name).</summary>
    public const string ClientName = "ConvergeGate";

    /// <summary>First retry of a read after about this long; then exponentially more, with jitter.</summary>
    internal static readonly TimeSpan RetryBaseDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest wait between two attempts of a read, also the longest <c>Retry-After</c> a read waits for. A longer
    /// <c>Retry-After</c> ends the read at once and is passed on to whoever asked (a shopper, the queue, the sweep).
    /// </summary>
    internal static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(2);

    // The breaker opens when, within the sampling window, at least BreakerMinimumThroughput attempts were made and at
    // least BreakerFailureRatio of them failed (transport failure, timeout, 5xx or 429; a 4xx answer such as a refused
    // code is the gateway working and never counts). So it takes 20 failed attempts in 30 s, and at least half of all
    // attempts, to open it. One checkout session cannot produce that: a shopper gets 5 codes per 15 minutes
    // (Checkout__MaxCodeAttempts), each code is one pay call, and the reads a session causes (its webhooks, the
    // sweep's re-check, a pay conflict: a handful per minute) are at most 3 attempts each with the default 2 read
    // retries. A gateway that fails everyone fails every attempt, and the 20 come within seconds under real traffic.
    // Open, it fails calls at once for BreakerBreakDuration (the Retry-After callers get), then lets one call through
    // to probe: success closes it, failure opens it again. Each app instance has its own breaker.
    internal const double BreakerFailureRatio = 0.5;
    internal const int BreakerMinimumThroughput = 40;
    internal static readonly TimeSpan BreakerBreakDuration = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The breaker's sampling window: 30 s, or two attempt timeouts when longer, so that attempts which each run into
    /// the timeout still fall in one window together (the rule the library's standard pipeline enforces too).
    /// </summary>
    internal static TimeSpan BreakerSamplingDuration(ConvergeGateOptions options) =>
        TimeSpan.FromSeconds(Math.Max(30, 2 * options.Timeout.TotalSeconds));

    /// <summary>Every attempt of one call and the waits between them: <c>Timeout × (ReadRetries + 1) + 2 s × ReadRetries</c>.</summary>
    internal static TimeSpan TotalTimeout(ConvergeGateOptions options) =>
        options.Timeout * (options.ReadRetries + 1) + MaxRetryDelay * options.ReadRetries;

    /// <summary>A gateway answer is small; a larger body is a broken gateway, not something to hold in memory.</summary>
    internal const long MaxResponseBytes = 1024 * 1024;

    /// <summary>
    /// Registers <see cref="IConvergeGate"/> and its named client with the pipeline. Returns the client builder, so a
    /// test can swap the primary handler and keep everything else.
    /// </summary>
    public static IHttpClientBuilder AddConvergeGateClient(this IServiceCollection services)
    {
        services.TryAddSingleton<IConvergeGate, ConvergeGateClient>();

        var builder = services
            .AddHttpClient(ClientName, (sp, http) =>
            {
                http.BaseAddress = sp.GetRequiredService<IOptions<ConvergeGateOptions>>().Value.BaseUrl;
                http.Timeout = Timeout.InfiniteTimeSpan; // the pipeline's timeouts decide; HttpClient's own would race them
            })
            // One handler for the app's life; its pooled connections are recycled, so DNS changes are still picked up.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(5),
                AllowAutoRedirect = false,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RedactLoggedHeaders(_ => true); // Authorization carries the secret key

        builder.AddResilienceHandler("pipeline", (pipeline, context) =>
            Configure(pipeline, context.ServiceProvider.GetRequiredService<IOptions<ConvergeGateOptions>>().Value));

        // Inside the resilience handler, so each attempt (and its timeout) includes reading the body.
        builder.AddHttpMessageHandler(() => new WholeResponseHandler());
        return builder;
    }

    private static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, ConvergeGateOptions options)
    {
        // Transport time is real time. The app's TimeProvider is business time, which tests move by hand; a breaker
        // or a timeout on that clock would stay open or never fire.
        pipeline.TimeProvider = TimeProvider.System;

        pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Name = "total", Timeout = TotalTimeout(options) });

        if (options.ReadRetries > 0)
        {
            var retry = new HttpRetryStrategyOptions
            {
                Name = "read-retry",
                MaxRetryAttempts = options.ReadRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = RetryBaseDelay,
                MaxDelay = MaxRetryDelay,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(
                    IsGatewayFailure(args.Outcome, args.Context.CancellationToken) && !AsksToWaitLonger(args.Outcome, MaxRetryDelay)),
            };
#pragma warning disable EXTEXP0001 // Experimental in the library; the version is pinned and the tests prove POSTs go once.
            retry.DisableForUnsafeHttpMethods();
#pragma warning restore EXTEXP0001
            pipeline.AddRetry(retry);
        }

        pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
        {
            Name = "breaker",
            FailureRatio = BreakerFailureRatio,
            MinimumThroughput = BreakerMinimumThroughput,
            SamplingDuration = BreakerSamplingDuration(options),
            BreakDuration = BreakerBreakDuration,
            ShouldHandle = args => ValueTask.FromResult(IsGatewayFailure(args.Outcome, args.Context.CancellationToken)),
        });

        pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Name = "attempt", Timeout = options.Timeout });
    }

    /// <summary>
    /// The gateway failed, as opposed to answering: no connection, no answer in time, a 5xx or a 429. A 4xx is the
    /// gateway refusing our request (a bad code, an unknown id): an answer, not a failure. The caller cancelling is
    /// neither.
    /// </summary>
    internal static bool IsGatewayFailure(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken) => outcome switch
    {
        { Result: { } response } => (int)response.StatusCode is >= 500 or (int)HttpStatusCode.TooManyRequests,
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Exception: OperationCanceledException } => !cancellationToken.IsCancellationRequested, // e.g. the connect timeout
        _ => false,
    };

    private static bool AsksToWaitLonger(Outcome<HttpResponseMessage> outcome, TimeSpan limit) =>
        outcome.Result?.Headers.RetryAfter is { } retryAfter
        && (retryAfter.Delta ?? (retryAfter.Date - TimeProvider.System.GetUtcNow())) > limit;
}

/// <summary>
/// Reads the whole response body before the response leaves the attempt, so the attempt timeout also covers a body
/// that stalls half-way, and a connection that drops mid-body is a failed attempt (retried if a read, counted by the
/// breaker) rather than an error after the pipeline has finished. No library handler does this.
/// </summary>
internal sealed class WholeResponseHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        try
        {
            await response.Content.LoadIntoBufferAsync(GatewayHttp.MaxResponseBytes, cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
