namespace Blik.Storage;

/// <summary>How queue message text is put on the wire.</summary>
public enum QueueMessageEncoding
{
    /// <summary>UTF-8 bytes of the text, base64-encoded: what the Azure Functions queue trigger expects by default.</summary>
    Base64 = 0,

    /// <summary>The text as-is (XML-escaped in the request body).</summary>
    None = 1,
}

/// <summary>Transport settings shared by the table and queue clients.</summary>
public sealed class StorageClientOptions
{
    /// <summary>Retries after the first attempt for 408/429/5xx and transport failures. Default 2.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>First retry delay (exponential back-off with jitter). Default 200 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound for one retry delay. Default 2 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time allowed for one attempt (connect, send, read the whole response). Default 10 s.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Encoding of queue message text. Default <see cref="QueueMessageEncoding.Base64"/>.</summary>
    public QueueMessageEncoding MessageEncoding { get; set; } = QueueMessageEncoding.Base64;

    internal void Validate()
    {
        if (MaxRetries is < 0 or > 10)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "MaxRetries must be between 0 and 10.");
        }

        if (RetryDelay < TimeSpan.Zero || MaxRetryDelay < RetryDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), "RetryDelay must be >= 0 and <= MaxRetryDelay.");
        }

        if (NetworkTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(NetworkTimeout), "NetworkTimeout must be positive.");
        }

        if (!Enum.IsDefined(MessageEncoding))
        {
            throw new ArgumentOutOfRangeException(nameof(MessageEncoding));
        }
    }
}
