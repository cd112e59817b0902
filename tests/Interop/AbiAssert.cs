using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fuselage.Tests.Interop;

/// <summary>Shared checks for the ABI tables: sizes, offsets, completeness of tables and enums.</summary>
internal static class AbiAssert
{
    private static readonly MethodInfo UnsafeSizeOf = typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!;

    public static void Size(Type type, int expected)
    {
        Assert.True(type.IsValueType, $"{type.Name} must be a struct");
        Assert.Equal(LayoutKind.Sequential, type.StructLayoutAttribute!.Value);
        var containsReferences = (bool)typeof(RuntimeHelpers).GetMethod(nameof(RuntimeHelpers.IsReferenceOrContainsReferences))!
            .MakeGenericMethod(type).Invoke(null, null)!;
        Assert.False(containsReferences, $"{type.Name} must be blittable");
        Assert.Equal(expected, (int)UnsafeSizeOf.MakeGenericMethod(type).Invoke(null, null)!);
        Assert.Equal(expected, Marshal.SizeOf(type));
    }

    public static void Offset(Type type, string field, int expected) =>
        Assert.Equal(expected, (int)Marshal.OffsetOf(type, field));

    /// <summary>ABI structs of a namespace (inline-array helper types excluded).</summary>
    public static IEnumerable<Type> StructsIn(string ns) =>
        typeof(Fuselage.Interop.Fuse.FuseInHeader).Assembly.GetExportedTypes()
            .Where(t => t.Namespace == ns && t.IsValueType && !t.IsEnum)
            .Where(t => t.GetCustomAttribute<InlineArrayAttribute>() is null);

    /// <summary>Every struct of <paramref name="ns"/> has a size row and every public field an offset row.</summary>
    public static void TablesCover(string ns, TheoryData<Type, int> sizes, TheoryData<Type, string, int> offsets)
    {
        var sized = sizes.Select(row => (Type)row[0]).ToHashSet();
        var withOffset = offsets.Select(row => ((Type)row[0], (string)row[1])).ToHashSet();
        foreach (var type in StructsIn(ns))
        {
            Assert.True(sized.Contains(type), $"no size row for {type.Name}");
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Instance))
                Assert.True(withOffset.Contains((type, field.Name)), $"no offset row for {type.Name}.{field.Name}");
            Assert.Empty(type.GetFields(BindingFlags.NonPublic | BindingFlags.Instance));
        }
        Assert.Equal(sizes.Count(), sized.Count);
    }

    /// <summary>The enum has exactly these members with these values.</summary>
    public static void Enum<T>(params (string Name, ulong Value)[] expected) where T : struct, System.Enum
    {
        Assert.Equal(expected.Select(e => e.Name).Order(), System.Enum.GetNames<T>().Order());
        foreach (var (name, value) in expected)
            Assert.True(value == Convert.ToUInt64(System.Enum.Parse<T>(name), null), $"{typeof(T).Name}.{name} should be 0x{value:X}");
    }
}
