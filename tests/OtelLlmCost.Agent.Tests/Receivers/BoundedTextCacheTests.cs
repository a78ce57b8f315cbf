using System.Text;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.Receivers;

[TestClass]
public sealed class BoundedTextCacheTests
{
    [TestMethod]
    public void Get_TheSameShortText_ReturnsOneSharedString()
    {
        var cache = new BoundedTextCache<string>(text => text);

        var first = cache.Get("gpt-4o-mini"u8);
        var second = cache.Get(Encoding.UTF8.GetBytes("gpt-4o-mini"));

        first.ShouldBe("gpt-4o-mini");
        ReferenceEquals(first, second).ShouldBeTrue();
        cache.CachedTexts.ShouldBe(1);
    }

    [TestMethod]
    public void Get_ATextLongerThanTheBound_IsDecodedEachTimeAndNotKept()
    {
        var cache = new BoundedTextCache<string>(text => text);
        var longText = Encoding.UTF8.GetBytes(new string('x', BoundedTextCache<string>.MaxCachedLength + 1));

        var first = cache.Get(longText);
        var second = cache.Get(longText);

        first.ShouldBe(second);
        ReferenceEquals(first, second).ShouldBeFalse();
        cache.CachedTexts.ShouldBe(0);
    }

    [TestMethod]
    public void Get_AfterOneOffTextsFilledTheCache_StillSharesTheTextsThatRepeat()
    {
        var cache = new BoundedTextCache<string>(text => text);
        var oneOff = Enumerable.Range(0, BoundedTextCache<string>.MaxCachedTexts * 2).Select(i => Encoding.UTF8.GetBytes($"GET /users/{i}")).ToArray();

        Parallel.ForEach(oneOff, text => cache.Get(text).ShouldBe(Encoding.UTF8.GetString(text)));
        var first = cache.Get("chat gpt-4o"u8);
        var second = cache.Get("chat gpt-4o"u8);

        cache.CachedTexts.ShouldBeLessThanOrEqualTo(BoundedTextCache<string>.MaxCachedTexts);
        ReferenceEquals(first, second).ShouldBeTrue();
    }
}
