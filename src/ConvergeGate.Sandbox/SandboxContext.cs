using Microsoft.Extensions.Logging;

namespace ConvergeGate.Sandbox;

/// <summary>Everything the endpoints of one sandbox instance share.</summary>
internal sealed class SandboxContext
{
    public SandboxContext(SandboxOptions options, SandboxBehaviour behaviour, SandboxClock clock, SandboxRandom random, SandboxFaults faults, WebhookDispatcher webhooks, SandboxState state, ILogger logger)
    {
        Options = options;
        Behaviour = behaviour;
        Clock = clock;
        Random = random;
        Faults = faults;
        Webhooks = webhooks;
        State = state;
        Logger = logger;
    }

    public SandboxOptions Options { get; }

    public SandboxBehaviour Behaviour { get; }

    public SandboxClock Clock { get; }

    public SandboxRandom Random { get; }

    public SandboxFaults Faults { get; }

    public WebhookDispatcher Webhooks { get; }

    public SandboxState State { get; }

    public ILogger Logger { get; }

    /// <summary>Base URL without trailing slash, e.g. <c>http://127.0.0.1:7072</c>.</summary>
    public string BaseUrl { get; set; } = string.Empty;

    public CancellationToken Stopping { get; set; }

    public void Reset()
    {
        State.Reset();
        Webhooks.Reset();
        Clock.ClearScheduledWork();
        Random.Reset();
        Faults.Set(Options.Faults);
        Behaviour.Reset();
    }
}
