namespace OtelLlmCost.Agent.Hosting;

/// <summary>What <c>serve</c> runs with. Listeners default to loopback so nothing is exposed unless configured.</summary>
internal sealed class AgentOptions
{
    public string DataDirectory { get; init; } = "./data";

    public string ApiEndpoint { get; init; } = "127.0.0.1:4320";

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("The data directory must not be empty.");
        }

        EndpointAddress.Parse(ApiEndpoint, "API address");
    }
}
