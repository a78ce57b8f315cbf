using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// The one reader of <c>/api/v1</c> request bodies: snake_case JSON, and every key must mean something, so a typo
/// (<c>{"scope": {"teem": "support"}}</c>) is a 400 naming the key instead of a budget on all spend. Malformed JSON,
/// invalid UTF-8 and lone surrogates are 400s too; <see cref="AnswerBadRequests"/> turns them into answers.
/// </summary>
internal static partial class ApiRequestJson
{
    public static readonly JsonSerializerOptions Options = new(SpendEndpoints.Json)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Reads the body as <typeparamref name="T"/>; <paramref name="shape"/> tells the client what to send instead.</summary>
    public static async Task<T> ReadAsync<T>(HttpRequest request, string shape)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Options, request.HttpContext.RequestAborted)
                ?? throw new ApiRequestException($"The body must be {shape}.");
        }
        catch (JsonException exception)
        {
            throw new ApiRequestException(Describe(exception, shape), exception);
        }
        catch (InvalidOperationException exception)
        {
            // The reader refuses invalid UTF-8 and lone surrogates only when it turns the text into a string.
            throw new ApiRequestException($"The body is not valid JSON text: {exception.Message}", exception);
        }
    }

    /// <summary>An endpoint filter for the API group: a refused body is a 400 with <c>{"error", "code"}</c>.</summary>
    public static async ValueTask<object?> AnswerBadRequests(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (ApiRequestException exception) when (!context.HttpContext.Response.HasStarted)
        {
            Hosting.ClientErrorLog.NoteReason(context.HttpContext, exception.Message);
            return BadRequest(exception.Message);
        }
    }

    public static IResult BadRequest(string message) => Results.Json(
        new Dictionary<string, string> { ["error"] = message, ["code"] = "invalid_request" },
        statusCode: StatusCodes.Status400BadRequest);

    private static string Describe(JsonException exception, string shape)
    {
        var unknown = UnmappedProperty().Match(exception.Message);
        if (unknown.Success)
        {
            var at = exception.Path is { Length: > 2 } path ? $" in {path}" : "";
            return $"Unknown key '{unknown.Groups[1].Value}'{at}; expected {shape}.";
        }

        if (exception.InnerException is InvalidOperationException && exception.Path is { Length: > 2 } textPath)
        {
            // The reader checks a string's bytes only when it converts them, and reports that as a conversion failure.
            return $"The value at {textPath} is not valid UTF-8 text (invalid bytes or a lone surrogate); expected {shape}.";
        }

        if (exception.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) && exception.Path is { Length: > 2 } valuePath)
        {
            return $"The value at {valuePath} has the wrong type; expected {shape}.";
        }

        return $"The body is not valid JSON for this request ({shape}): {exception.Message}";
    }

    [GeneratedRegex("^The JSON property '(.*)' could not be mapped", RegexOptions.CultureInvariant)]
    private static partial Regex UnmappedProperty();
}

/// <summary>A request body the API cannot take; the message says what is wrong (a 400).</summary>
internal sealed class ApiRequestException : Exception
{
    public ApiRequestException()
    {
    }

    public ApiRequestException(string message)
        : base(message)
    {
    }

    public ApiRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
