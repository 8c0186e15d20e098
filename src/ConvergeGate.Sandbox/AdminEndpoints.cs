using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ConvergeGate.Sandbox;

/// <summary>Sandbox control API under <c>/_sandbox/</c> (no authentication, snake_case JSON).</summary>
internal static class AdminEndpoints
{
    public static readonly JsonSerializerOptions Json = CreateJsonOptions();

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            WriteIndented = true,
            PropertyNameCaseInsensitive = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        return options;
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/_sandbox");
        admin.MapGet("/", (SandboxContext ctx) => Ok(new
        {
            base_url = ctx.BaseUrl,
            mode = Snake(ctx.Behaviour.Mode),
            profile = Snake(ctx.Behaviour.Profile),
            behaviour = BehaviourView(ctx),
            clock = ClockView(ctx),
            sessions = ctx.State.SessionCount,
            scenarios = ScenarioTable,
            routes = Routes,
        }));

        admin.MapGet("/sessions", (SandboxContext ctx) => Ok(new
        {
            data = ctx.State.AllSessions().Select(s => new
            {
                s.Id,
                s.Status,
                s.AmountTotal,
                s.AmountRefunded,
                s.Currency,
                s.CreatedAt,
                s.ExpiresAt,
                s.NotificationUrl,
                Attempts = s.Attempts.Count,
                LastPaymentError = s.LastPaymentError,
            }),
        }));

        admin.MapGet("/behaviour", (SandboxContext ctx) => Ok(BehaviourView(ctx)));
        admin.MapPut("/behaviour", async (HttpRequest request, SandboxContext ctx) =>
        {
            var (p, error) = await RequestParams.ReadAsync(request, includeQuery: true);
            if (p is null)
            {
                return error!;
            }

            return ApplyBehaviour(p, ctx.Behaviour) ?? Ok(BehaviourView(ctx));
        });

        admin.MapGet("/sessions/{id}", (string id, SandboxContext ctx) =>
        {
            if (ctx.State.FindSession(AdminId(ctx, id)) is not { } session)
            {
                return NotFound("checkout session", id);
            }

            using var document = JsonDocument.Parse(ApiJson.Write(w => ApiJson.WriteSession(w, session, Rendering.Admin(ctx))));
            return Ok(new
            {
                Session = document.RootElement.Clone(),
                session.Attempts,
                Deliveries = ctx.Webhooks.All().Where(d => d.SessionId == id).Select(DeliveryView),
            });
        });

        admin.MapPost("/sessions/{id}/complete", async (string id, HttpRequest request, SandboxContext ctx) =>
        {
            var (p, error) = await RequestParams.ReadAsync(request, includeQuery: true);
            if (p is null)
            {
                return error!;
            }

            if (!TryBool(p.Get("ignore_expiry"), out var ignoreExpiry))
            {
                return ApiJson.Invalid("ignore_expiry must be true or false.", "ignore_expiry");
            }

            return Answer(ctx.State.ForceComplete(AdminId(ctx, id), ignoreExpiry ?? false), ctx);
        });
        admin.MapPost("/sessions/{id}/report", async (string id, HttpRequest request, SandboxContext ctx) =>
        {
            var (p, error) = await RequestParams.ReadAsync(request, includeQuery: true);
            if (p is null)
            {
                return error!;
            }

            long? amount = null;
            if (p.Get("amount_total") is { } amountText)
            {
                if (!long.TryParse(amountText, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
                {
                    return ApiJson.Invalid("amount_total must be an integer.", "amount_total");
                }

                amount = value;
            }

            var currency = p.Get("currency");
            if (amount is null && currency is null)
            {
                return ApiJson.Invalid("Give amount_total and/or currency to report.", "amount_total");
            }

            return Answer(ctx.State.ReportAs(AdminId(ctx, id), amount, currency), ctx);
        });
        admin.MapPost("/sessions/{id}/expire", (string id, SandboxContext ctx) => Answer(ctx.State.ForceExpire(AdminId(ctx, id)), ctx));
        admin.MapPost("/sessions/{id}/decline", async (string id, HttpRequest request, SandboxContext ctx) =>
        {
            var (p, error) = await RequestParams.ReadAsync(request, includeQuery: true);
            if (p is null)
            {
                return error!;
            }

            var code = p.Get("decline_code") ?? DeclineCodes.CustomerDeclined;
            return Answer(ctx.State.ForceDecline(AdminId(ctx, id), code), ctx);
        });

        admin.MapGet("/deliveries", (HttpRequest request, SandboxContext ctx) =>
        {
            var sessionId = request.Query["session_id"].ToString();
            var type = request.Query["type"].ToString();
            var list = ctx.Webhooks.All()
                .Where(d => sessionId.Length == 0 || d.SessionId == sessionId)
                .Where(d => type.Length == 0 || d.EventType == type);
            return Ok(new { data = list.Select(DeliveryView) });
        });

        admin.MapGet("/deliveries/{id}", (string id, SandboxContext ctx) =>
            ctx.Webhooks.Find(id) is { } delivery ? Ok(DeliveryView(delivery)) : NotFound("delivery", id));

        admin.MapPost("/deliveries/{id}/resend", async (string id, SandboxContext ctx, CancellationToken ct) =>
            await ctx.Webhooks.ResendAsync(id, ct) is { } delivery ? Ok(DeliveryView(delivery)) : NotFound("delivery", id));

        admin.MapPost("/deliveries/release-held", async (SandboxContext ctx, CancellationToken ct) =>
        {
            ctx.Webhooks.ReleaseHeld();
            await ctx.Clock.RunDueWorkAsync(ct);
            return Ok(new { released = true });
        });

        admin.MapGet("/clock", (SandboxContext ctx) => Ok(ClockView(ctx)));
        admin.MapPost("/clock/advance", async (HttpRequest request, SandboxContext ctx, CancellationToken ct) =>
        {
            var (p, error) = await RequestParams.ReadAsync(request, includeQuery: true);
            if (p is null)
            {
                return error!;
            }

            TimeSpan by;
            if (p.Get("seconds") is { } seconds && double.TryParse(seconds, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s >= 0)
            {
                by = TimeSpan.FromSeconds(s);
            }
            else if (p.Get("by") is { } text && TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed >= TimeSpan.Zero)
            {
                by = parsed;
            }
            else
            {
                return ApiJson.Invalid("Give a non-negative \"seconds\" number or a \"by\" TimeSpan like \"01:30:00\".", "seconds");
            }

            await ctx.Clock.AdvanceAsync(by, ct);
            return Ok(ClockView(ctx));
        });

        admin.MapGet("/faults", (SandboxContext ctx) => Ok(ctx.Faults.Current));
        admin.MapPut("/faults", (HttpRequest request, SandboxContext ctx) =>
            WithBody<FaultConfiguration>(request, config =>
            {
                ctx.Faults.Set(config);
                return Ok(ctx.Faults.Current);
            }));
        admin.MapPost("/faults/api", (HttpRequest request, SandboxContext ctx) =>
            WithBody<ApiFaultRule>(request, rule =>
            {
                ctx.Faults.Add(rule);
                return Ok(ctx.Faults.Current);
            }));
        admin.MapPost("/faults/webhooks", (HttpRequest request, SandboxContext ctx) =>
            WithBody<WebhookFaultRule>(request, rule =>
            {
                ctx.Faults.Add(rule);
                return Ok(ctx.Faults.Current);
            }));
        admin.MapDelete("/faults", (SandboxContext ctx) =>
        {
            ctx.Faults.Clear();
            return Ok(ctx.Faults.Current);
        });

        admin.MapPost("/reset", (SandboxContext ctx) =>
        {
            ctx.Reset();
            return Ok(new { reset = true });
        });
    }

    public static readonly object[] ScenarioTable =
    [
        new { code = "777xxx", outcome = "pending, then completed after the confirmation delay; session.completed webhook" },
        new { code = "000000", outcome = "completed immediately; session.completed webhook" },
        new { code = "111111", outcome = "400 code_invalid; session stays open" },
        new { code = "222222", outcome = "400 code_expired; session stays open" },
        new { code = "333333", outcome = "400 code_already_used; session stays open" },
        new { code = "444444", outcome = "pending, then open with customer_declined; no webhook" },
        new { code = "555555", outcome = "pending, then open with insufficient_funds; no webhook" },
        new { code = "666666", outcome = "pending, then open with limit_exceeded; no webhook" },
        new { code = "888888", outcome = "pending, then open with issuer_declined; no webhook" },
        new { code = "999999", outcome = "pending, then open with customer_timeout after the bank-app window; no webhook" },
        new { code = "other 6 digits", outcome = "same as 777xxx" },
    ];

    private static readonly string[] Routes =
    [
        "GET /_sandbox/behaviour", "PUT /_sandbox/behaviour",
        "GET /_sandbox/sessions", "GET /_sandbox/sessions/{id}", "POST /_sandbox/sessions/{id}/complete", "POST /_sandbox/sessions/{id}/report", "POST /_sandbox/sessions/{id}/expire",
        "POST /_sandbox/sessions/{id}/decline", "GET /_sandbox/deliveries", "GET /_sandbox/deliveries/{id}", "POST /_sandbox/deliveries/{id}/resend",
        "POST /_sandbox/deliveries/release-held", "GET /_sandbox/clock", "POST /_sandbox/clock/advance", "GET /_sandbox/faults", "PUT /_sandbox/faults",
        "POST /_sandbox/faults/api", "POST /_sandbox/faults/webhooks", "DELETE /_sandbox/faults", "POST /_sandbox/reset",
    ];

    /// <summary>Force and report calls answer with the session object in the profile in force; their own errors do not follow the mode (409 for a wrong state).</summary>
    private static IResult Answer(OperationResult<SessionSnapshot> result, SandboxContext ctx) => result.Status switch
    {
        OperationStatus.Ok => ApiJson.Session(result.Value!, Rendering.For(ctx)),
        OperationStatus.NotFound => ApiJson.Error(404, "invalid_request_error", result.Message!, result.Param),
        OperationStatus.Conflict => ApiJson.Error(409, "invalid_request_error", result.Message!, result.Param),
        _ => ApiJson.Error(400, "invalid_request_error", result.Message!, result.Param),
    };

    private static object BehaviourView(SandboxContext ctx) => new
    {
        mode = Snake(ctx.Behaviour.Mode),
        profile = Snake(ctx.Behaviour.Profile),
        webhook_key_derivation = Snake(ctx.Behaviour.WebhookKeyDerivation),
        livemode = ctx.Behaviour.ReportedLivemode,
        livemode_source = ctx.Behaviour.Livemode is null ? "key" : "set",
    };

    /// <summary>Applies the fields present; returns an error naming the first bad one (and then changes nothing), or null.</summary>
    private static IResult? ApplyBehaviour(RequestParams p, SandboxBehaviour behaviour)
    {
        SandboxMode? mode = null;
        ResponseProfile? profile = null;
        WebhookKeyDerivation? derivation = null;
        if (p.Get("mode") is { } modeText && !TryEnum(modeText, out mode))
        {
            return ApiJson.Invalid("mode must be one of: generous, strict_docs.", "mode");
        }

        if (p.Get("profile") is { } profileText && !TryEnum(profileText, out profile))
        {
            return ApiJson.Invalid("profile must be one of: both_spellings, create_example, retrieve_example, pay_example, mixed.", "profile");
        }

        if (p.Get("webhook_key_derivation") is { } derivationText && !TryEnum(derivationText, out derivation))
        {
            return ApiJson.Invalid("webhook_key_derivation must be one of: raw_digest, hex_digest.", "webhook_key_derivation");
        }

        var livemodeText = p.Get("livemode");
        bool? livemode = null;
        if (livemodeText is not null && livemodeText != "key" && !TryBool(livemodeText, out livemode))
        {
            return ApiJson.Invalid("livemode must be true, false or \"key\" (derive it from the secret key).", "livemode");
        }

        behaviour.Mode = mode ?? behaviour.Mode;
        behaviour.Profile = profile ?? behaviour.Profile;
        behaviour.WebhookKeyDerivation = derivation ?? behaviour.WebhookKeyDerivation;
        if (livemodeText is not null)
        {
            behaviour.Livemode = livemode;
        }

        return null;
    }

    /// <summary>Admin routes accept a session id with or without its leading "2", whatever the profile.</summary>
    private static string AdminId(SandboxContext ctx, string id) => ctx.State.Canonical(id, allowShort: true) ?? id;

    private static string Snake<TEnum>(TEnum value)
        where TEnum : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    /// <summary>Accepts the snake_case name (as the admin API writes it), the PascalCase name, or either with hyphens.</summary>
    private static bool TryEnum<TEnum>(string text, out TEnum? value)
        where TEnum : struct, Enum
    {
        var wanted = text.Replace('-', '_');
        foreach (var candidate in Enum.GetValues<TEnum>())
        {
            if (string.Equals(Snake(candidate), wanted, StringComparison.OrdinalIgnoreCase) || string.Equals(candidate.ToString(), wanted, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = null;
        return false;
    }

    private static bool TryBool(string? text, out bool? value)
    {
        value = text switch
        {
            null => null,
            "true" or "True" or "1" => true,
            "false" or "False" or "0" => false,
            _ => null,
        };
        return text is null || value is not null;
    }

    private static object ClockView(SandboxContext ctx)
    {
        var now = ctx.Clock.GetUtcNow();
        return new { now, unix = now.ToUnixTimeSeconds(), manual = ctx.Clock.IsManual, pending_work = ctx.Clock.PendingWorkCount, next_due_at = ctx.Clock.NextDueAt, clock_file = ctx.Clock.ClockFile };
    }

    private static object DeliveryView(DeliverySnapshot d) => new
    {
        d.Id,
        d.EventId,
        d.EventType,
        d.SessionId,
        d.RefundId,
        d.Url,
        d.Outcome,
        d.DuplicateOf,
        d.CreatedAt,
        d.NextAttemptAt,
        d.Attempts,
        Body = JsonDocument.Parse(d.Body).RootElement.Clone(),
    };

    private static async Task<IResult> WithBody<T>(HttpRequest request, Func<T, IResult> apply)
        where T : class
    {
        T? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<T>(request.Body, Json, request.HttpContext.RequestAborted);
        }
        catch (JsonException ex)
        {
            return ApiJson.Error(400, "invalid_request_error", "Invalid JSON: " + ex.Message);
        }

        if (body is null)
        {
            return ApiJson.Error(400, "invalid_request_error", "A JSON body is required.");
        }

        try
        {
            return apply(body);
        }
        catch (ArgumentException ex)
        {
            return ApiJson.Error(400, "invalid_request_error", ex.Message);
        }
    }

    private static IResult Ok(object value) => Results.Json(value, Json);

    private static IResult NotFound(string what, string id) => ApiJson.Error(404, "invalid_request_error", $"No such {what}: {id}", "id");
}
