using System.Net.Sockets;
using System.Text.Json;
using System.Xml;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Blik.Storage;

internal enum StorageService
{
    Table,
    Queue,
}

/// <summary>Builds the Azure.Core pipeline per service and turns responses and failures into our exceptions.</summary>
internal static class StoragePipeline
{
    /// <summary>Checked against Azurite 3.35.0 with Shared Key Lite path-style signing.</summary>
    internal const string TableServiceVersion = "2019-02-02";

    /// <summary>Accepted by Azurite 3.35.0 (its list goes up to 2025-11-05) and by Azure.</summary>
    internal const string QueueServiceVersion = "2021-12-02";

    private sealed class PipelineClientOptions : ClientOptions
    {
    }

    internal static HttpPipeline Build(StorageConnection connection, StorageClientOptions options, StorageService service)
    {
        var clientOptions = new PipelineClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = options.MaxRetryDelay;
        clientOptions.Retry.NetworkTimeout = options.NetworkTimeout;
        clientOptions.Diagnostics.ApplicationId = "blik-storage";

        HttpPipelinePolicy auth;
        if (connection.UsesAccountKey)
        {
            auth = new SharedKeyCredentialPolicy(
                connection.AccountName!,
                connection.AccountKey,
                service == StorageService.Table ? SharedKeyScheme.SharedKeyLite : SharedKeyScheme.SharedKey);
        }
        else
        {
            auth = new BearerTokenAuthenticationPolicy(connection.Credential!, StorageConnection.StorageScope);
        }

        // The default classifier retries 408/429/500/502/503/504 and transport errors only;
        // 404/409/412 reach the caller on the first attempt.
        return HttpPipelineBuilder.Build(clientOptions, [], [auth], new ResponseClassifier());
    }

    /// <summary>
    /// Sends the message. Transport failures, network timeouts and exhausted retries become
    /// <see cref="StorageUnavailableException"/>; cancellation by the caller's token propagates unchanged.
    /// </summary>
    internal static async Task<Response> SendAsync(HttpPipeline pipeline, HttpMessage message, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (IsTransportFailure(ex))
        {
            throw new StorageUnavailableException(
                $"{operation} failed: storage could not be reached ({Describe(ex)}).", 0, null, null, ex);
        }

        return message.Response;
    }

    internal static bool IsSuccess(Response response) => response.Status is >= 200 and < 300;

    internal static StorageRequestException Failure(Response response, string operation)
    {
        var status = response.Status;
        var code = ErrorCode(response);
        var requestId = response.Headers.TryGetValue("x-ms-request-id", out var id) ? id : null;
        var message = $"{operation} failed with status {status}{(code is null ? string.Empty : " (" + code + ")")}"
                      + (requestId is null ? "." : $"; request id {requestId}.");
        return status switch
        {
            404 => new StorageNotFoundException(message, code, requestId),
            409 => new StorageConflictException(message, code, requestId),
            412 => new StoragePreconditionFailedException(message, code, requestId),
            408 or 429 or >= 500 => new StorageUnavailableException(message, status, code, requestId),
            _ => new StorageRequestException(message, status, code, requestId),
        };
    }

    /// <summary>The service error code from <c>x-ms-error-code</c>, else the JSON (table) or XML (queue) body.</summary>
    internal static string? ErrorCode(Response response)
    {
        if (response.Headers.TryGetValue("x-ms-error-code", out var header) && !string.IsNullOrWhiteSpace(header))
        {
            return header;
        }

        var content = response.Content;
        if (content is null || content.ToMemory().IsEmpty)
        {
            return null;
        }

        var span = content.ToMemory().Span;
        var first = span.TrimStart(" \t\r\n\uFEFF"u8);
        try
        {
            if (!first.IsEmpty && first[0] == (byte)'{')
            {
                using var doc = JsonDocument.Parse(content.ToMemory());
                if (doc.RootElement.TryGetProperty("odata.error", out var error) &&
                    error.TryGetProperty("code", out var code) && code.ValueKind == JsonValueKind.String)
                {
                    return code.GetString();
                }

                return null;
            }

            if (!first.IsEmpty && first[0] == (byte)'<')
            {
                using var reader = SafeXml.CreateReader(content.ToStream());
                while (reader.Read())
                {
                    if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "Code")
                    {
                        return reader.ReadElementContentAsString();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or XmlException)
        {
            return null;
        }

        return null;
    }

    private static bool IsTransportFailure(Exception ex) => ex switch
    {
        RequestFailedException { Status: 0 } => true,
        OperationCanceledException => true,
        HttpRequestException or IOException or SocketException or TimeoutException => true,
        AggregateException agg => agg.InnerExceptions.Count > 0 && agg.InnerExceptions.All(IsTransportFailure),
        _ => false,
    };

    private static string Describe(Exception ex)
    {
        if (ex is AggregateException agg && agg.InnerExceptions.Count > 0)
        {
            ex = agg.InnerExceptions[^1];
        }

        if (ex is OperationCanceledException or TimeoutException)
        {
            return "network timeout";
        }

        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex is SocketException socket ? socket.SocketErrorCode.ToString() : ex.GetType().Name;
    }
}

internal static class SafeXml
{
    internal static XmlReader CreateReader(Stream stream) => XmlReader.Create(stream, new XmlReaderSettings
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = false,
        MaxCharactersFromEntities = 1024,
        CloseInput = true,
    });
}
