using Spectre.Console;
using Spectre.Console.Rendering;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Renders Spectre.Console widgets to any <see cref="TextWriter"/> as plain text: no ANSI codes, no colours, a
/// fixed width, so tables read the same in a terminal, a pipe and a test.
/// </summary>
internal static class PlainConsole
{
    public static void Write(IRenderable widget, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        console.Write(widget);
    }
}
