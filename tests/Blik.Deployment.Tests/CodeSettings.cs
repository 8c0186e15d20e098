using System.Collections;
using System.Reflection;
using Blik.Checkout.Configuration;

namespace Blik.Deployment.Tests;

/// <summary>
/// The settings the application reads, taken from the code itself: every public settable property of the options
/// classes in Blik.Checkout.Configuration (found by their public <c>Section</c> constant), plus the storage
/// connection <c>AzureWebJobsStorage</c> in its connection-string and identity-based forms.
/// Keys are configuration paths (<c>Section:Property</c>); app settings write them as <c>Section__Property</c>.
/// </summary>
internal static class CodeSettings
{
    public const string Storage = Blik.Checkout.Hosting.ServiceCollectionExtensions.StorageSetting;

    /// <summary>The identity-based parts of the storage setting that Blik.Checkout.Storage.StorageAccount reads.</summary>
    public static readonly IReadOnlyList<string> StorageIdentityParts = ["accountName", "tableServiceUri", "queueServiceUri", "credential", "clientId"];

    /// <summary>Settings the app cannot start without (SettingsValidator / StorageAccount reject their absence).</summary>
    public static readonly IReadOnlyList<string> Required = ["ConvergeGate:BaseUrl", "ConvergeGate:SecretKey", "Checkout:PublicBaseUrl", Storage];

    public static IReadOnlyList<Type> OptionTypes { get; } = typeof(ConvergeGateOptions).Assembly.GetExportedTypes()
        .Where(t => t.Namespace == typeof(ConvergeGateOptions).Namespace && SectionOf(t) is not null)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>Configuration path → whether the property is a collection (set as <c>Path__0</c>, <c>Path__1</c>, …).</summary>
    public static IReadOnlyDictionary<string, bool> OptionSettings { get; } = OptionTypes
        .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => KeyValuePair.Create($"{SectionOf(t)}:{p.Name}", IsCollection(p.PropertyType))))
        .ToDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every configuration path the app reads: the options plus <c>AzureWebJobsStorage</c> and its parts.</summary>
    public static IReadOnlyList<string> All { get; } =
        [.. OptionSettings.Keys, Storage, .. StorageIdentityParts.Select(p => $"{Storage}:{p}")];

    public static string? SectionOf(Type type) =>
        type.GetField("Section", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field ? (string?)field.GetRawConstantValue() : null;

    /// <summary>
    /// What an app setting name means to the code: the configuration path it sets, or null if the code does not read
    /// it. <c>Section__Array__0</c>, <c>Section__Array__1</c>, … map to the array property.
    /// </summary>
    public static string? Resolve(string appSettingName)
    {
        var parts = appSettingName.Split("__");
        if (string.Equals(parts[0], Storage, StringComparison.OrdinalIgnoreCase))
        {
            return parts.Length switch
            {
                1 => Storage,
                2 when StorageIdentityParts.Contains(parts[1], StringComparer.OrdinalIgnoreCase) => $"{Storage}:{parts[1]}",
                _ => null,
            };
        }

        if (parts.Length is < 2 or > 3 || !OptionSettings.TryGetValue($"{parts[0]}:{parts[1]}", out var isCollection))
        {
            return null;
        }

        if (parts.Length == 3)
        {
            return isCollection && int.TryParse(parts[2], out _) ? $"{parts[0]}:{parts[1]}" : null;
        }

        return isCollection ? null : $"{parts[0]}:{parts[1]}";
    }

    private static bool IsCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);
}
