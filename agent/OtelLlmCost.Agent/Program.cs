using OtelLlmCost.Agent.Cli;

return await AgentCommandLine.RunAsync(args);
