using Blik.Ops;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Stop after the work in hand: a message is deleted from the poison queue only after it was sent on, and a
    // reconciliation stops between sessions.
    e.Cancel = true;
    cancellation.Cancel();
};

return await OpsApp.RunAsync(args, Console.Out, Console.Error, environment: null, cancellation.Token);
