using System.Collections.Concurrent;
using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>
/// The FFTs of Spectral Residual (<c>FourierOptions.Matlab</c>: no scaling forward, 1/n back) with the twiddle factors
/// computed once per size. The ensemble runs two 64-point FFTs per consulted point, and MathNet's radix-2 computes a
/// cosine and a sine for each of its 63 twiddles on every call, which was most of their cost. The twiddles here come
/// from the same expression and the butterflies are the same complex operations on the same elements in the same
/// order per element, so the result is bit for bit MathNet's (<c>Radix2FourierTests</c>). Sizes that are not a power
/// of two go to MathNet.
/// </summary>
internal static class Radix2Fourier
{
    private static readonly ConcurrentDictionary<int, Twiddles> BySize = new();

    public static void Forward(Complex[] samples)
    {
        if (!BitOperations.IsPow2(samples.Length) || samples.Length < 2)
        {
            Fourier.Forward(samples, FourierOptions.Matlab);
            return;
        }

        Transform(samples, TwiddlesOf(samples.Length).Forward);
    }

    public static void Inverse(Complex[] spectrum)
    {
        if (!BitOperations.IsPow2(spectrum.Length) || spectrum.Length < 2)
        {
            Fourier.Inverse(spectrum, FourierOptions.Matlab);
            return;
        }

        Transform(spectrum, TwiddlesOf(spectrum.Length).Inverse);
        var scale = 1.0 / spectrum.Length;
        for (var i = 0; i < spectrum.Length; i++)
        {
            spectrum[i] *= scale;
        }
    }

    private static Twiddles TwiddlesOf(int size) => BySize.GetOrAdd(size, static n => new Twiddles(Table(n, -1), Table(n, 1)));

    /// <summary>Level by level (sizes 1, 2, 4, … n/2), the factor of index k at offset levelSize − 1 + k.</summary>
    private static Complex[] Table(int n, int exponentSign)
    {
        var table = new Complex[n - 1];
        for (var levelSize = 1; levelSize < n; levelSize <<= 1)
        {
            for (var k = 0; k < levelSize; k++)
            {
                // MathNet's expression, evaluated the same way, so each factor is the same double.
                var exponent = exponentSign * k * Math.PI / levelSize;
                table[levelSize - 1 + k] = new Complex(Math.Cos(exponent), Math.Sin(exponent));
            }
        }

        return table;
    }

    private static void Transform(Complex[] samples, Complex[] twiddles)
    {
        Reorder(samples);
        var n = samples.Length;
        for (var levelSize = 1; levelSize < n; levelSize <<= 1)
        {
            var step = levelSize << 1;
            for (var k = 0; k < levelSize; k++)
            {
                var w = twiddles[levelSize - 1 + k];
                for (var i = k; i < n; i += step)
                {
                    var ai = samples[i];
                    var t = w * samples[i + levelSize];
                    samples[i] = ai + t;
                    samples[i + levelSize] = ai - t;
                }
            }
        }
    }

    /// <summary>Bit-reversal permutation.</summary>
    private static void Reorder(Complex[] samples)
    {
        var j = 0;
        for (var i = 0; i < samples.Length - 1; i++)
        {
            if (i < j)
            {
                (samples[i], samples[j]) = (samples[j], samples[i]);
            }

            var m = samples.Length;
            do
            {
                m >>= 1;
                j ^= m;
            }
            while ((j & m) == 0);
        }
    }

    private sealed record Twiddles(Complex[] Forward, Complex[] Inverse);
}
