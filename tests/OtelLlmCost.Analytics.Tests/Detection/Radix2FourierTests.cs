using System.Numerics;
using MathNet.Numerics.IntegralTransforms;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class Radix2FourierTests
{
    [TestMethod]
    [DataRow(2)]
    [DataRow(16)]
    [DataRow(64)] // Spectral Residual's window of 59 plus its 5 extension points
    [DataRow(256)]
    [DataRow(69)] // not a power of two: MathNet's own path
    public void ForwardAndInverse_RandomSignals_AreBitForBitMathNets(int size)
    {
        var random = new Random(size);
        for (var round = 0; round < 20; round++)
        {
            var ours = new Complex[size];
            for (var i = 0; i < size; i++)
            {
                ours[i] = new Complex((random.NextDouble() - 0.3) * Math.Pow(10, random.Next(-3, 4)), round % 2 == 0 ? 0 : random.NextDouble());
            }

            var theirs = (Complex[])ours.Clone();

            Radix2Fourier.Forward(ours);
            Fourier.Forward(theirs, FourierOptions.Matlab);
            ours.ShouldBe(theirs);

            Radix2Fourier.Inverse(ours);
            Fourier.Inverse(theirs, FourierOptions.Matlab);
            ours.ShouldBe(theirs);
        }
    }
}
