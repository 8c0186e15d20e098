using System.Net;
using System.Net.Sockets;

namespace Blik.Testing;

/// <summary>
/// A loopback TCP relay in front of one port, that a test can cut (the port refuses connections and the open ones are
/// reset, as when the service behind it dies) and restore on the same port. An outage without killing what is behind
/// it: an in-memory Azurite keeps its data, so "nothing is lost after it returns" can be checked.
/// </summary>
public sealed class TcpOutage : IAsyncDisposable
{
    private readonly int _target;
    private readonly object _gate = new();
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _accepting;

    private TcpOutage(int target, int port)
    {
        _target = target;
        Port = port;
    }

    /// <summary>The port clients use.</summary>
    public int Port { get; }

    public bool IsCut => _listener is null;

    public static TcpOutage Start(int targetPort)
    {
        var relay = new TcpOutage(targetPort, Blik.DevServices.FreePort.Next());
        relay.Listen();
        return relay;
    }

    /// <summary>New connections are refused and the open ones reset.</summary>
    public void Cut()
    {
        TcpClient[] open;
        lock (_gate)
        {
            _accepting?.Cancel();
            _listener?.Stop();
            _listener = null;
            open = [.. _open];
            _open.Clear();
        }

        foreach (var client in open)
        {
            try
            {
                // A reset, not a graceful close: what a dead peer leaves.
                if (client.Client is { } socket)
                {
                    socket.LingerState = new LingerOption(true, 0);
                }
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException)
            {
                // Its relay closed it meanwhile.
            }

            client.Dispose();
        }
    }

    /// <summary>Listens again on the same port.</summary>
    public void Restore() => Listen();

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }

    private void Listen()
    {
        lock (_gate)
        {
            if (_listener is not null)
            {
                return;
            }

            _listener = new TcpListener(IPAddress.Loopback, Port);
            _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Start();
            _accepting = new CancellationTokenSource();
            _ = AcceptAsync(_listener, _accepting.Token);
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(stop);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = RelayAsync(inbound);
        }
    }

    private async Task RelayAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        lock (_gate)
        {
            _open.Add(inbound);
            _open.Add(outbound);
        }

        try
        {
            await outbound.ConnectAsync(IPAddress.Loopback, _target);
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Cut, or one side went away.
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(inbound);
                _open.Remove(outbound);
            }

            inbound.Dispose();
            outbound.Dispose();
        }
    }
}
