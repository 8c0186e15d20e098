namespace Blik.Storage;

/// <summary>
/// The storage service answered with a non-success status. The message carries the operation, the status
/// and the service error code, never credentials, signatures or the service's own error text
/// (which can echo the string-to-sign).
/// </summary>
public class StorageRequestException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StorageRequestException(string message, int status, string? errorCode, string? requestId = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Status = status;
        ErrorCode = errorCode;
        RequestId = requestId;
    }

    /// <summary>Creates the exception with status 0.</summary>
    public StorageRequestException()
        : this("The storage request failed.", 0, null)
    {
    }

    /// <summary>Creates the exception with status 0.</summary>
    public StorageRequestException(string message)
        : this(message, 0, null)
    {
    }

    /// <summary>Creates the exception with status 0.</summary>
    public StorageRequestException(string message, Exception innerException)
        : this(message, 0, null, null, innerException)
    {
    }

    /// <summary>HTTP status; 0 when no response was received.</summary>
    public int Status { get; }

    /// <summary>Service error code (<c>x-ms-error-code</c> or the body), e.g. <c>EntityAlreadyExists</c>.</summary>
    public string? ErrorCode { get; }

    /// <summary>The service's <c>x-ms-request-id</c>, for support cases.</summary>
    public string? RequestId { get; }
}

/// <summary>409: the entity (or resource) already exists.</summary>
public sealed class StorageConflictException : StorageRequestException
{
    /// <summary>Creates the exception.</summary>
    public StorageConflictException(string message, string? errorCode, string? requestId = null)
        : base(message, 409, errorCode, requestId)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageConflictException()
        : base("The storage resource already exists.", 409, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageConflictException(string message)
        : base(message, 409, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageConflictException(string message, Exception innerException)
        : base(message, 409, null, null, innerException)
    {
    }
}

/// <summary>412: the If-Match ETag no longer matches (someone else changed or deleted the entity).</summary>
public sealed class StoragePreconditionFailedException : StorageRequestException
{
    /// <summary>Creates the exception.</summary>
    public StoragePreconditionFailedException(string message, string? errorCode, string? requestId = null)
        : base(message, 412, errorCode, requestId)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StoragePreconditionFailedException()
        : base("The storage precondition failed.", 412, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StoragePreconditionFailedException(string message)
        : base(message, 412, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StoragePreconditionFailedException(string message, Exception innerException)
        : base(message, 412, null, null, innerException)
    {
    }
}

/// <summary>404 where absence is an error (e.g. replacing an entity that does not exist, a missing table).</summary>
public sealed class StorageNotFoundException : StorageRequestException
{
    /// <summary>Creates the exception.</summary>
    public StorageNotFoundException(string message, string? errorCode, string? requestId = null)
        : base(message, 404, errorCode, requestId)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageNotFoundException()
        : base("The storage resource was not found.", 404, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageNotFoundException(string message)
        : base(message, 404, null)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageNotFoundException(string message, Exception innerException)
        : base(message, 404, null, null, innerException)
    {
    }
}

/// <summary>
/// Storage could not be reached or is failing after retries: transport error, timeout, or 408/429/5xx.
/// Callers answer 503. <see cref="StorageRequestException.Status"/> is 0 when no response was received.
/// </summary>
public sealed class StorageUnavailableException : StorageRequestException
{
    /// <summary>Creates the exception.</summary>
    public StorageUnavailableException(string message, int status, string? errorCode, string? requestId = null, Exception? innerException = null)
        : base(message, status, errorCode, requestId, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageUnavailableException()
        : base("Storage is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
