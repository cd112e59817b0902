using System.Runtime.CompilerServices;

namespace Fuselage.Interop.Fuse;

// Fixed-size C arrays inside ABI structs. InlineArray keeps them blittable and gives Span access
// without unsafe code in the engine. Named by element type and length.

/// <summary>u8[3].</summary>
[InlineArray(3)]
public struct ByteArray3 { private byte _element; }

/// <summary>u8[6].</summary>
[InlineArray(6)]
public struct ByteArray6 { private byte _element; }

/// <summary>u8[16].</summary>
[InlineArray(16)]
public struct ByteArray16 { private byte _element; }

/// <summary>char[32].</summary>
[InlineArray(32)]
public struct ByteArray32 { private byte _element; }

/// <summary>char[128].</summary>
[InlineArray(128)]
public struct ByteArray128 { private byte _element; }

/// <summary>u16[11].</summary>
[InlineArray(11)]
public struct UInt16Array11 { private ushort _element; }

/// <summary>u32[6].</summary>
[InlineArray(6)]
public struct UInt32Array6 { private uint _element; }

/// <summary>u32[10].</summary>
[InlineArray(10)]
public struct UInt32Array10 { private uint _element; }

/// <summary>u32[11].</summary>
[InlineArray(11)]
public struct UInt32Array11 { private uint _element; }

/// <summary>u64[2].</summary>
[InlineArray(2)]
public struct UInt64Array2 { private ulong _element; }

/// <summary>u64[5].</summary>
[InlineArray(5)]
public struct UInt64Array5 { private ulong _element; }

/// <summary>u64[14].</summary>
[InlineArray(14)]
public struct UInt64Array14 { private ulong _element; }
