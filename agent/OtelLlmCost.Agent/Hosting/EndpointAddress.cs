using System.Globalization;
using System.Net;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>A listener address given as <c>HOST:PORT</c> (<c>127.0.0.1:4320</c>, <c>[::1]:0</c>, <c>localhost:4318</c>).</summary>
internal static class EndpointAddress
{
    public static IPEndPoint Parse(string text, string what)
    {
        var separator = text.LastIndexOf(':');
        if (separator <= 0 || !int.TryParse(text.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port > 65535)
        {
            throw new FormatException($"{what} '{text}' is not HOST:PORT (for example 127.0.0.1:4320; port 0 picks a free port).");
        }

        var host = text[..separator].Trim('[', ']');
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return new IPEndPoint(IPAddress.Loopback, port);
        }

        return IPAddress.TryParse(host, out var address)
            ? new IPEndPoint(address, port)
            : throw new FormatException($"{what} '{text}': '{host}' is not an IP address or localhost (expected HOST:PORT, e.g. 127.0.0.1:4320).");
    }
}
