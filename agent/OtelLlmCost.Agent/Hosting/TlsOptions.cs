using System.Security.Cryptography.X509Certificates;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// TLS for the listeners (configuration section <c>Tls</c>), for deployments beyond loopback: with a certificate set,
/// the OTLP listeners (gRPC with ALPN h2, HTTP) and the API serve https on their usual ports. Off by default.
/// </summary>
internal sealed class TlsOptions
{
    public const string SectionName = "Tls";

    /// <summary>The server certificate: a PEM file (with <see cref="KeyPath"/>, or its key inside) or a PKCS#12 (.pfx) file. Empty: no TLS.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>The PEM private key of a PEM certificate; empty when the key is in <see cref="CertificatePath"/>.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>The password of a PKCS#12 file or of an encrypted PEM key; empty when there is none.</summary>
    public string CertificatePassword { get; set; } = "";

    /// <summary>Serve the OTLP listeners (gRPC and HTTP) over TLS when a certificate is set.</summary>
    public bool Otlp { get; set; } = true;

    /// <summary>Serve the API (and /metrics, /healthz) over TLS when a certificate is set.</summary>
    public bool Api { get; set; } = true;

    public bool Enabled => CertificatePath.Length > 0;

    public void Validate()
    {
        if (!Enabled)
        {
            if (KeyPath.Length > 0 || CertificatePassword.Length > 0)
            {
                throw new InvalidOperationException($"{SectionName}:KeyPath and {SectionName}:CertificatePassword need {SectionName}:CertificatePath.");
            }

            return;
        }

        foreach (var (name, path) in new[] { ("CertificatePath", CertificatePath), ("KeyPath", KeyPath) })
        {
            if (path.Length > 0 && !File.Exists(path))
            {
                throw new InvalidOperationException($"{SectionName}:{name} '{path}' does not exist.");
            }
        }
    }

    /// <summary>Loads the certificate with its private key; a file that is not one throws with the reason.</summary>
    public X509Certificate2 LoadCertificate()
    {
        var password = CertificatePassword.Length > 0 ? CertificatePassword : null;
        try
        {
            var certificate = IsPem(CertificatePath)
                ? password is null
                    ? X509Certificate2.CreateFromPemFile(CertificatePath, KeyPath.Length > 0 ? KeyPath : null)
                    : X509Certificate2.CreateFromEncryptedPemFile(CertificatePath, password, KeyPath.Length > 0 ? KeyPath : null)
                : X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, password);
            if (!certificate.HasPrivateKey)
            {
                certificate.Dispose();
                throw new InvalidOperationException($"{SectionName}:CertificatePath '{CertificatePath}' holds no private key; set {SectionName}:KeyPath.");
            }

            return certificate;
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidOperationException($"{SectionName}:CertificatePath '{CertificatePath}' could not be loaded: {e.Message}", e);
        }
    }

    private static bool IsPem(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> start = stackalloc byte[11];
        return file.Read(start) == start.Length && start.SequenceEqual("-----BEGIN "u8);
    }
}
