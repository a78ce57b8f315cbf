namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// After a detector fires it stays quiet for a number of points, so one incident raises one anomaly, unless the score
/// grows to <c>regrowth</c> times the score that fired (the incident got much worse).
/// </summary>
internal struct Cooldown(int points, double regrowth)
{
    private int _quietUntil = int.MinValue;
    private double _firedScore;

    public readonly bool Allows(int index, double score) => index >= _quietUntil || score >= regrowth * _firedScore;

    public void Fired(int index, double score)
    {
        _quietUntil = index + points + 1;
        _firedScore = score;
    }
}
