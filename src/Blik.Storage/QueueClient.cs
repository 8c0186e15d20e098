using System.Globalization;
using System.Text;
using System.Xml;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Blik.Storage;

/// <summary>Queue service REST client (XML, Shared Key or bearer token).</summary>
internal sealed class QueueClient : IQueueClient
{
    internal const int MaxEncodedMessageBytes = 64 * 1024;
    private const int MaxVisibilitySeconds = 7 * 24 * 3600;

    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly HttpPipeline _pipeline;
    private readonly string _queueUri;

    internal QueueClient(HttpPipeline pipeline, Uri endpoint, string name, QueueMessageEncoding encoding)
    {
        ValidateQueueName(name);
        _pipeline = pipeline;
        _queueUri = endpoint.AbsoluteUri.TrimEnd('/') + "/" + name;
        Name = name;
        MessageEncoding = encoding;
    }

    public string Name { get; }

    public QueueMessageEncoding MessageEncoding { get; }

    public async Task<bool> CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Put, _queueUri);
        var response = await SendAsync(message, "Create queue", cancellationToken).ConfigureAwait(false);
        return response.Status switch
        {
            201 => true,
            204 or 409 => false, // 204: exists with the same metadata; 409: exists with other metadata.
            _ => throw Failure(response, "Create queue"),
        };
    }

    public async Task<string> SendMessageAsync(string text, TimeSpan? visibilityDelay = null, TimeSpan? timeToLive = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        byte[] body;
        try
        {
            body = BuildMessageBody(EncodeText(text, MessageEncoding));
        }
        catch (ArgumentException ex) when (ex.ParamName is null)
        {
            throw new ArgumentException(
                "The message text contains characters XML cannot carry; use QueueMessageEncoding.Base64.", nameof(text), ex);
        }

        var delay = visibilityDelay is null ? 0 : Seconds(visibilityDelay.Value, nameof(visibilityDelay), 0, MaxVisibilitySeconds);
        var ttl = timeToLive is null ? -1 : Seconds(timeToLive.Value, nameof(timeToLive), 1, int.MaxValue);
        if (ttl != -1 && delay >= ttl)
        {
            throw new ArgumentException("The visibility delay must be shorter than the time to live.", nameof(visibilityDelay));
        }

        var uri = $"{_queueUri}/messages?visibilitytimeout={delay.ToString(CultureInfo.InvariantCulture)}&messagettl={ttl.ToString(CultureInfo.InvariantCulture)}";
        using var message = CreateMessage(RequestMethod.Post, uri);
        message.Request.Headers.SetValue("Content-Type", "application/xml; charset=utf-8");
        message.Request.Content = RequestContent.Create(body);
        var response = await SendAsync(message, "Send message", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Send message");

        var sent = ParseMessages(response, "Send message");
        return sent.Count > 0 && sent[0].TryGetValue("MessageId", out var id) ? id
            : throw new StorageRequestException($"Send message to queue '{Name}' returned no message id.", response.Status, null);
    }

    public async Task<IReadOnlyList<QueueMessage>> ReceiveMessagesAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ValidateMax(maxMessages);
        var visibility = Seconds(visibilityTimeout, nameof(visibilityTimeout), 1, MaxVisibilitySeconds);
        var uri = $"{_queueUri}/messages?numofmessages={maxMessages.ToString(CultureInfo.InvariantCulture)}&visibilitytimeout={visibility.ToString(CultureInfo.InvariantCulture)}";
        using var message = CreateMessage(RequestMethod.Get, uri);
        var response = await SendAsync(message, "Receive messages", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Receive messages");

        return ParseMessages(response, "Receive messages")
            .Select(m => new QueueMessage(
                Required(m, "MessageId"),
                Required(m, "PopReceipt"),
                ParseLong(m, "DequeueCount"),
                DecodeText(m, Name, MessageEncoding),
                ParseTime(m, "InsertionTime"),
                ParseTime(m, "ExpirationTime"),
                ParseTime(m, "TimeNextVisible")))
            .ToList();
    }

    public async Task<IReadOnlyList<PeekedQueueMessage>> PeekMessagesAsync(int maxMessages = 1, CancellationToken cancellationToken = default)
    {
        ValidateMax(maxMessages);
        var uri = $"{_queueUri}/messages?peekonly=true&numofmessages={maxMessages.ToString(CultureInfo.InvariantCulture)}";
        using var message = CreateMessage(RequestMethod.Get, uri);
        var response = await SendAsync(message, "Peek messages", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Peek messages");

        return ParseMessages(response, "Peek messages")
            .Select(m => new PeekedQueueMessage(
                Required(m, "MessageId"),
                ParseLong(m, "DequeueCount"),
                DecodeText(m, Name, MessageEncoding),
                ParseTime(m, "InsertionTime"),
                ParseTime(m, "ExpirationTime")))
            .ToList();
    }

    public async Task<bool> DeleteMessageAsync(string messageId, string popReceipt, CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, MessageUri(messageId, popReceipt));
        var response = await SendAsync(message, "Delete message", cancellationToken).ConfigureAwait(false);
        if (StoragePipeline.IsSuccess(response))
        {
            return true;
        }

        if (IsLostMessage(response))
        {
            return false;
        }

        throw Failure(response, "Delete message");
    }

    public async Task<string> UpdateVisibilityAsync(string messageId, string popReceipt, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        var visibility = Seconds(visibilityTimeout, nameof(visibilityTimeout), 0, MaxVisibilitySeconds);
        var uri = MessageUri(messageId, popReceipt) + "&visibilitytimeout=" + visibility.ToString(CultureInfo.InvariantCulture);
        using var message = CreateMessage(RequestMethod.Put, uri);
        var response = await SendAsync(message, "Update message visibility", cancellationToken).ConfigureAwait(false);
        if (!StoragePipeline.IsSuccess(response) && IsLostMessage(response))
        {
            throw new StorageNotFoundException(
                $"Update message visibility in queue '{Name}' failed with status {response.Status}: the message is gone or the pop receipt is stale.",
                StoragePipeline.ErrorCode(response));
        }

        EnsureSuccess(response, "Update message visibility");
        return response.Headers.TryGetValue("x-ms-popreceipt", out var receipt) && !string.IsNullOrEmpty(receipt)
            ? receipt
            : throw new StorageRequestException($"Update message visibility in queue '{Name}' returned no pop receipt.", response.Status, null);
    }

    public async Task<int> GetApproximateMessageCountAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Get, _queueUri + "?comp=metadata");
        var response = await SendAsync(message, "Get queue metadata", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Get queue metadata");
        return response.Headers.TryGetValue("x-ms-approximate-messages-count", out var count) &&
               int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new StorageRequestException($"Get queue metadata for '{Name}' returned no message count.", response.Status, null);
    }

    public async Task ClearMessagesAsync(CancellationToken cancellationToken = default)
    {
        using var message = CreateMessage(RequestMethod.Delete, _queueUri + "/messages");
        var response = await SendAsync(message, "Clear messages", cancellationToken).ConfigureAwait(false);
        EnsureSuccess(response, "Clear messages");
    }

    /// <summary>The text as it goes on the wire; throws if it exceeds 64 KiB.</summary>
    internal static string EncodeText(string text, QueueMessageEncoding encoding)
    {
        string encoded;
        try
        {
            encoded = encoding == QueueMessageEncoding.Base64 ? Convert.ToBase64String(Utf8NoBom.GetBytes(text)) : text;
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException("The message text is not valid UTF-16 (unpaired surrogate).", nameof(text));
        }

        var size = encoding == QueueMessageEncoding.Base64 ? encoded.Length : Encoding.UTF8.GetByteCount(encoded);
        if (size > MaxEncodedMessageBytes)
        {
            throw new ArgumentException(
                $"The message is {size} bytes once encoded ({encoding}); the queue service accepts at most {MaxEncodedMessageBytes}.",
                nameof(text));
        }

        return encoded;
    }

    internal static byte[] BuildMessageBody(string encodedText)
    {
        using var buffer = new MemoryStream();
        using (var writer = XmlWriter.Create(buffer, new XmlWriterSettings { Encoding = Utf8NoBom, CheckCharacters = true }))
        {
            writer.WriteStartElement("QueueMessage");
            writer.WriteElementString("MessageText", encodedText);
            writer.WriteEndElement();
        }

        return buffer.ToArray();
    }

    private static string DecodeText(Dictionary<string, string> message, string queue, QueueMessageEncoding encoding)
    {
        message.TryGetValue("MessageText", out var text);
        text ??= string.Empty;
        if (encoding == QueueMessageEncoding.None)
        {
            return text;
        }

        try
        {
            return Utf8NoBom.GetString(Convert.FromBase64String(text));
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            throw new InvalidDataException(
                $"Message {Required(message, "MessageId")} in queue '{queue}' is not base64-encoded UTF-8; " +
                "it was sent with another encoding (see QueueMessageEncoding).", ex);
        }
    }

    private List<Dictionary<string, string>> ParseMessages(Response response, string operation)
    {
        var result = new List<Dictionary<string, string>>();
        try
        {
            using var reader = SafeXml.CreateReader(response.Content.ToStream());
            Dictionary<string, string>? current = null;
            reader.MoveToContent();
            while (!reader.EOF)
            {
                if (reader.NodeType != XmlNodeType.Element)
                {
                    reader.Read();
                    continue;
                }

                if (reader.LocalName == "QueueMessage")
                {
                    current = new Dictionary<string, string>(StringComparer.Ordinal);
                    result.Add(current);
                    reader.Read();
                }
                else if (current is not null && reader.Depth >= 2)
                {
                    var name = reader.LocalName;
                    current[name] = reader.ReadElementContentAsString();
                }
                else
                {
                    reader.Read();
                }
            }
        }
        catch (XmlException ex)
        {
            throw new StorageRequestException($"{operation} in queue '{Name}' returned invalid XML.", response.Status, null, null, ex);
        }

        return result;
    }

    private static string Required(Dictionary<string, string> message, string name) =>
        message.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value)
            ? value
            : throw new InvalidDataException($"The queue service response lacks {name}.");

    private static long ParseLong(Dictionary<string, string> message, string name) =>
        message.TryGetValue(name, out var value) && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    private static DateTimeOffset? ParseTime(Dictionary<string, string> message, string name) =>
        message.TryGetValue(name, out var value) &&
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : null;

    private static bool IsLostMessage(Response response) =>
        response.Status == 404 ||
        (response.Status == 400 && string.Equals(StoragePipeline.ErrorCode(response), "PopReceiptMismatch", StringComparison.Ordinal));

    private string MessageUri(string messageId, string popReceipt)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentException.ThrowIfNullOrEmpty(popReceipt);
        return $"{_queueUri}/messages/{Uri.EscapeDataString(messageId)}?popreceipt={Uri.EscapeDataString(popReceipt)}";
    }

    private static int Seconds(TimeSpan value, string paramName, int min, int max)
    {
        var seconds = Math.Ceiling(value.TotalSeconds);
        if (seconds < min || seconds > max)
        {
            throw new ArgumentOutOfRangeException(paramName, value, $"Must be between {min} and {max} seconds.");
        }

        return (int)seconds;
    }

    private static void ValidateMax(int maxMessages)
    {
        if (maxMessages is < 1 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(maxMessages), maxMessages, "Between 1 and 32 messages per call.");
        }
    }

    private static void ValidateQueueName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var valid = name.Length is >= 3 and <= 63
                    && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')
                    && name[0] != '-' && name[^1] != '-'
                    && !name.Contains("--", StringComparison.Ordinal);
        if (!valid)
        {
            throw new ArgumentException($"'{name}' is not a valid queue name: 3-63 lowercase letters, digits and single hyphens.", nameof(name));
        }
    }

    private HttpMessage CreateMessage(RequestMethod method, string uri)
    {
        var message = _pipeline.CreateMessage();
        message.Request.Method = method;
        message.Request.Uri.Reset(new Uri(uri));
        message.Request.Headers.SetValue("x-ms-version", StoragePipeline.QueueServiceVersion);
        return message;
    }

    private Task<Response> SendAsync(HttpMessage message, string operation, CancellationToken cancellationToken) =>
        StoragePipeline.SendAsync(_pipeline, message, $"{operation} in queue '{Name}'", cancellationToken);

    private void EnsureSuccess(Response response, string operation)
    {
        if (!StoragePipeline.IsSuccess(response))
        {
            throw Failure(response, operation);
        }
    }

    private StorageRequestException Failure(Response response, string operation) =>
        StoragePipeline.Failure(response, $"{operation} in queue '{Name}'");
}
