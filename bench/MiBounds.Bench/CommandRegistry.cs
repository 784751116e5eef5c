namespace MiBounds.Bench;

/// <summary>Each measurement file registers its commands here (one line per file) so Program stays untouched.</summary>
internal static partial class CommandRegistry
{
    public static void RegisterAll()
    {
        foreach (var m in typeof(CommandRegistry).GetMethods(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic))
            if (m.Name.StartsWith("Register", StringComparison.Ordinal) && m.Name != nameof(RegisterAll) && m.GetParameters().Length == 0)
                m.Invoke(null, null);
    }
}
