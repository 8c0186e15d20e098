using System.Reflection;
using System.Reflection.Emit;
using Blik.Checkout.Domain;
using Blik.Checkout.Hosting;
using Blik.Checkout.Sessions;
using Blik.Checkout.Storage;

namespace Blik.Checkout.Tests;

/// <summary>
/// The folders of src/Blik.Checkout are one-way layers: a type may use types of its own folder and of the folders
/// listed below it, never of one above. Checked over everything the compiled assembly refers to: signatures, base
/// types, attributes, locals and the types, methods and fields the method bodies (lambdas and async state machines
/// included) use.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>Top to bottom; the namespace is <c>Blik.Checkout.{folder}</c> (the empty folder is the root's names).</summary>
    public static readonly (string Folder, string Layer)[] Folders =
    [
        ("Hosting", "composition root"),
        ("Http", "edge"),
        ("Webhooks", "application"),
        ("Sweeps", "application"),
        ("Refunds", "application"),
        ("Sessions", "application"),
        ("Processing", "application"),
        ("Storage", "adapters"),
        ("Gateway", "adapters"),
        ("Diagnostics", "shared"),
        ("Domain", "domain rules"),
        ("Configuration", "shared"),
        ("", "shared"),
    ];

    private static readonly Assembly Checkout = typeof(ServiceCollectionExtensions).Assembly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void No_folder_uses_a_folder_above_it()
    {
        var violations = (
            from type in Checkout.GetTypes()
            where Rank(type) is not null && type.DeclaringType is null
            from used in References(type).Distinct()
            where Rank(used) is { } usedRank && usedRank < Rank(type)
            select $"{Name(type)} uses {Name(used)}").Distinct().Order(StringComparer.Ordinal).ToArray();

        Assert.True(violations.Length == 0, "Layering broken:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Every_namespace_of_the_application_is_a_known_layer()
    {
        var known = Folders.Select(f => Namespace(f.Folder)).ToHashSet(StringComparer.Ordinal);

        var unknown = Checkout.GetTypes().Select(t => t.Namespace)
            .Where(n => n is not null && n.StartsWith("Blik.Checkout", StringComparison.Ordinal) && !known.Contains(n))
            .Distinct()
            .ToArray();

        Assert.Empty(unknown);
    }

    [Fact]
    public void The_check_sees_what_method_bodies_use()
    {
        // Each of these appears only inside an async method body of the type, so only the IL scan can find it.
        Assert.Contains(typeof(Refusal.SessionNotFound), References(typeof(SessionService)));
        Assert.Contains(typeof(StorageConflictException), References(typeof(SessionService)));
    }

    private static int? Rank(Type type)
    {
        var ns = type.Namespace;
        if (type.Assembly != Checkout || ns is null || !ns.StartsWith("Blik.Checkout", StringComparison.Ordinal))
        {
            return null;
        }

        var index = Array.FindIndex(Folders, f => Namespace(f.Folder) == ns);
        return index < 0 ? null : index;
    }

    private static string Namespace(string folder) => folder.Length == 0 ? "Blik.Checkout" : "Blik.Checkout." + folder;

    private static string Name(Type type) => $"{type.Namespace![("Blik.Checkout".Length)..].TrimStart('.')}.{type.Name}".TrimStart('.');

    /// <summary>Every type of this assembly that <paramref name="type"/> or a type nested in it refers to.</summary>
    private static IEnumerable<Type> References(Type type)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var found = new HashSet<Type>();
        foreach (var t in Nested(type))
        {
            Add(found, t.BaseType);
            foreach (var i in t.GetInterfaces())
            {
                Add(found, i);
            }

            foreach (var a in t.GetCustomAttributesData())
            {
                Add(found, a.AttributeType);
            }

            foreach (var f in t.GetFields(All))
            {
                Add(found, f.FieldType);
            }

            foreach (var p in t.GetProperties(All))
            {
                Add(found, p.PropertyType);
            }

            foreach (var m in t.GetMethods(All).Cast<MethodBase>().Concat(t.GetConstructors(All)))
            {
                if (m is MethodInfo method)
                {
                    Add(found, method.ReturnType);
                }

                foreach (var p in m.GetParameters())
                {
                    Add(found, p.ParameterType);
                }

                foreach (var used in BodyReferences(m))
                {
                    Add(found, used);
                }
            }
        }

        return found.Where(t => t.Assembly == Checkout);
    }

    private static IEnumerable<Type> Nested(Type type) =>
        new[] { type }.Concat(type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic).SelectMany(Nested));

    private static void Add(HashSet<Type> found, Type? type)
    {
        if (type is null || type.IsGenericParameter || !found.Add(type))
        {
            return;
        }

        if (type.HasElementType)
        {
            Add(found, type.GetElementType());
        }

        if (type.IsGenericType)
        {
            Add(found, type.GetGenericTypeDefinition());
            foreach (var argument in type.GetGenericArguments())
            {
                Add(found, argument);
            }
        }
    }

    /// <summary>The types of the locals and caught exceptions, and the types, methods and fields named by the IL of a method body.</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body is null)
        {
            yield break;
        }

        foreach (var local in body.LocalVariables)
        {
            yield return local.LocalType;
        }

        foreach (var clause in body.ExceptionHandlingClauses)
        {
            if (clause.Flags == ExceptionHandlingClauseOptions.Clause)
            {
                yield return clause.CatchType!;
            }
        }

        var il = body.GetILAsByteArray() ?? [];
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            var op = OpCodesByValue[value];
            i += op.Size;
            switch (op.OperandType)
            {
                case OperandType.InlineType or OperandType.InlineTok or OperandType.InlineMethod or OperandType.InlineField:
                    var member = method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments);
                    yield return member as Type ?? member!.DeclaringType!;
                    if (member is MethodInfo called)
                    {
                        yield return called.ReturnType;
                    }
                    else if (member is FieldInfo field)
                    {
                        yield return field.FieldType;
                    }

                    i += 4;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BitConverter.ToInt32(il, i));
                    break;
                default:
                    i += op.OperandType switch
                    {
                        OperandType.InlineNone => 0,
                        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                        OperandType.InlineVar => 2,
                        OperandType.InlineI8 or OperandType.InlineR => 8,
                        _ => 4,
                    };
                    break;
            }
        }
    }
}
