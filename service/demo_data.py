"""Sample content that `python main.py demo` loads: real text about Inkwell itself."""

from __future__ import annotations

from typing import TypedDict


class DemoMenu(TypedDict):
    name: str


class DemoCategory(TypedDict):
    name: str
    intro: str
    menu: str | None  # a DemoMenu's name


class DemoArticle(TypedDict):
    slug: str
    title: str
    category: str  # a DemoCategory's name
    source: str  # a source code
    tags: list[str]
    days_ago: int
    status: str
    summary: str
    content: str


class DemoComment(TypedDict):
    article: str  # a DemoArticle's slug
    author_name: str
    author_email: str
    content: str
    reply_to_floor: int | None
    is_author: bool
    days_ago: int


class DemoWidget(TypedDict):
    title: str
    kind: str
    content: str


class DemoSite(TypedDict):
    title: str
    signature: str
    footer: str


class DemoPage(TypedDict):
    slug: str
    title: str
    content: str


class DemoLink(TypedDict):
    label: str
    url: str


MENUS: list[DemoMenu] = [
    {"name": "Guides"},
    {"name": "Engineering"},
]

CATEGORIES: list[DemoCategory] = [
    {
        "name": "Getting Started",
        "intro": "Installing Inkwell, writing your first posts and putting the site online.",
        "menu": "Guides",
    },
    {
        "name": "Architecture",
        "intro": "How Inkwell stays correct and fast when many processes serve one blog.",
        "menu": "Engineering",
    },
    {
        "name": "Notes",
        "intro": "Shorter pieces, experiments and posts in other languages.",
        "menu": None,
    },
]

ARTICLES: list[DemoArticle] = [
    {
        "slug": "welcome-to-inkwell",
        "title": "Welcome to Inkwell",
        "category": "Getting Started",
        "source": "original",
        "tags": ["tornado", "deployment", "markdown"],
        "days_ago": 3,
        "status": "published",
        "summary": (
            "Inkwell is a self-hosted blog for one author or a small team. "
            "This post explains what it is made of and how to try it in a minute."
        ),
        "content": """\
Inkwell is a self-hosted blog for one author or a small team, written in Python on top of Tornado. Pages are rendered on the server from Tornado templates, styled by a single hand-written CSS file and helped along by a little vanilla JavaScript. There is no front-end build step: what is in the repository is what the browser gets.

## What it is made of

| piece | job |
|---|---|
| Tornado | HTTP server, templates, signed cookies, the IOLoop |
| SQLAlchemy + alembic | articles, comments and settings; schema migrations |
| Redis | sessions, cache invalidation, counters, the leader lease |
| nginx | spreads requests over the instances, serves static files |

A production site runs several Tornado processes, each bound to its own port, behind nginx. Any instance can answer any request, which is why sessions live in Redis and why a write on one instance tells the others to drop what they cached.

## Trying it locally

With no `BLOG_*` environment variables set, Inkwell runs on SQLite under `var/`, keeps sessions in memory and generates its cookie secret once into `var/`. That is enough to look around:

```sh
python main.py demo
python main.py createadmin --username admin
python main.py --port=8888
```

The first command applies the migrations and loads the articles you are reading now. Open `http://127.0.0.1:8888/` to read, and `/admin` to write.

## Where to go next

Read *Writing in Markdown* for what the editor understands, and *Deploying N instances with one command* when you are ready to put the blog behind nginx. The Engineering menu collects the posts about how the pieces fit together.
""",
    },
    {
        "slug": "writing-in-markdown",
        "title": "Writing in Markdown",
        "category": "Getting Started",
        "source": "original",
        "tags": ["markdown", "python"],
        "days_ago": 9,
        "status": "published",
        "summary": "Everything the Inkwell editor understands, shown by example.",
        "content": """\
Articles in Inkwell are written in Markdown. The editor shows a live preview next to the text, and the same renderer produces the page readers see, so what you preview is what gets published.

## The basics

Inkwell renders with markdown-it-py, which follows CommonMark, plus a few extensions. Emphasis, *italic*, **bold**, `inline code`, links, images and block quotes all work as you would expect. Text you no longer stand behind can be ~~struck through~~ instead of deleted.

Tables are written with pipes:

| syntax | result |
|---|---|
| `*text*` | *italic* |
| `**text**` | **bold** |
| `~~text~~` | ~~strikethrough~~ |
| `[^1]` | a footnote reference |

## Code

Fenced code blocks name their language, and Pygments highlights them on the server, so readers download no highlighting script:

```python
def reading_time(text: str, words_per_minute: int = 220) -> int:
    \"\"\"Minutes needed to read text, never less than one.\"\"\"
    words = len(text.split())
    return max(1, round(words / words_per_minute))
```

## Task lists and footnotes

Task lists are handy for release notes and plans:

- [x] Write the first draft
- [x] Add a table and a code sample
- [ ] Ask a friend to proofread
- [ ] Publish

Footnotes collect at the bottom of the article, out of the way of the text.[^1]

## Headings and the table of contents

Every `##` and `###` heading gets an anchor, and an article with several headings shows a table of contents built from them. The rendered HTML is stored with the article, together with the renderer version that produced it, so a newer renderer re-renders old articles the next time they are read.

[^1]: Like this one. The number links back to where it was used.
""",
    },
    {
        "slug": "how-sessions-survive-behind-nginx",
        "title": "How sessions survive behind nginx",
        "category": "Architecture",
        "source": "original",
        "tags": ["redis", "nginx", "security"],
        "days_ago": 17,
        "status": "published",
        "summary": (
            "nginx may send your next request to a different instance. "
            "A signed cookie and a Redis key make sure you stay signed in anyway."
        ),
        "content": """\
When several Tornado processes sit behind nginx, consecutive requests from one browser land on different instances. A session kept in one process's memory would sign the author out at random, which is the one thing a multi-instance blog must never do.

## Why not sticky sessions

nginx can pin a client to an instance with `ip_hash`, but many readers share one address behind a carrier's NAT, a phone changes address when it leaves Wi-Fi, and a restarted instance forgets everyone it held. Putting the whole session in the cookie avoids the store but makes sessions impossible to revoke. Inkwell keeps the upstream plain round-robin instead:

```nginx
upstream inkwell {
    server 127.0.0.1:8001;
    server 127.0.0.1:8002;
    server 127.0.0.1:8003;
}
```

## A random id in a signed cookie

The cookie holds only a random session id, written with Tornado's `set_signed_cookie`, so it carries an HMAC made with the cookie secret and cannot be forged. It is `HttpOnly`, `SameSite=Lax`, and `Secure` when the site is served over HTTPS. Every instance must therefore share the same `BLOG_COOKIE_SECRET`.

The session itself is JSON in Redis under `session:<id>` with a sliding seven-day expiry. A request costs at most one `GET`, and only when it carries a session cookie, so anonymous readers never touch Redis for this. The session is written back with one `SET` and a TTL only if it changed.

## Replacing the id

The id is replaced when you sign in and when you sign out. An attacker who planted a known session id in your browser before you signed in is left holding an id that no longer means anything.

## More than one Redis node

`BLOG_REDIS_URL` may list several nodes. A consistent hash ring picks the node for each session id, so adding a node moves only a small share of the sessions instead of nearly all of them.
""",
    },
    {
        "slug": "cache-invalidation-with-redis-pub-sub",
        "title": "Cache invalidation with Redis pub/sub",
        "category": "Architecture",
        "source": "original",
        "tags": ["redis", "performance"],
        "days_ago": 26,
        "status": "published",
        "summary": (
            "Each instance caches hot data in memory. One published message tells all of them "
            "what to forget after a write."
        ),
        "content": """\
Most of what a blog serves changes rarely: the site settings, the menus, the sidebar widgets, the rendered HTML of an article, the home page an anonymous reader sees. Inkwell keeps these in each instance's memory, which makes them cheap to serve and raises the classic question of how to forget them in time.

## One channel, many listeners

Every instance subscribes to one Redis channel. After a write commits, the instance that made it publishes a short message naming what changed, for example the article and the listings it appears in. Each subscriber, the writer included, drops exactly those entries and rebuilds them on the next request. A reader sees the new version well within a second of the author pressing Publish.

```python
def on_invalidation(self, message: dict) -> None:
    for name in message["drop"]:
        self.entries.pop(name, None)
```

Publishing happens after the commit, never before: otherwise another instance could reload the old row in the gap and cache it again.

## When messages go missing

Redis pub/sub is fire and forget. A subscriber that is disconnected when a message is published never receives it, and nothing replays it later. Inkwell handles this bluntly: when the subscription comes back after a Redis outage, the instance drops its whole cache. Rebuilding costs a few queries; serving a stale page for hours would cost far more.

## A connection of its own

A Redis connection in subscribe mode cannot run ordinary commands, so the bus uses a dedicated connection that does nothing but listen. Sessions, counters and the lease use the regular pool.
""",
    },
    {
        "slug": "one-leader-many-instances-the-redis-lease",
        "title": "One leader, many instances: the Redis lease",
        "category": "Architecture",
        "source": "original",
        "tags": ["redis", "deployment"],
        "days_ago": 38,
        "status": "published",
        "summary": "How Inkwell makes sure a scheduled job runs once, not once per instance.",
        "content": """\
Some work must happen exactly once no matter how many instances run: flushing the page-view counters from Redis to the database every minute, and publishing articles whose scheduled time has come. Run it in every process and an article is published four times and every view is counted twice.

## Taking the lease

Every instance tries to become the leader with a single atomic command:

```text
SET lease:leader <instance id> NX PX 10000
```

`NX` means only one instance can create the key; `PX` gives it a lifetime in milliseconds. The instance id defaults to the host name and port, so the holder is easy to spot. Whoever gets `OK` back runs the periodic jobs; the others try again a little later.

## Renewing before it expires

The leader extends the lease well before it runs out, about every third of its lifetime, and only while the key still holds its own id. That check and the extension must happen together, so they run as one Lua script:

```lua
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
```

If the renewal fails, the instance stops its jobs at once. On a clean shutdown it deletes the key, with the same compare-first check, so a successor takes over without waiting for the expiry.

## What a lease does not promise

A process that is frozen for longer than the lease may wake up still believing it leads. A lease narrows that window; it does not close it. Inkwell's jobs are written so that an overlap does no harm: scheduled publishing only changes articles that are still scheduled, so a second run finds nothing to do. No one has to mark an instance as master by hand.
""",
    },
    {
        "slug": "sign-in-by-scanning-a-qr-code",
        "title": "Sign in by scanning a QR code",
        "category": "Getting Started",
        "source": "original",
        "tags": ["security", "tornado", "redis"],
        "days_ago": 47,
        "status": "published",
        "summary": "Sign in on a shared computer without typing your password into it.",
        "content": """\
Typing a password into a borrowed computer is never comfortable. If your phone is already signed in to the blog, Inkwell lets you sign in on the computer by scanning a code instead.

## How it works

1. The sign-in page creates a ticket `qr:<token>` in Redis with the status `pending` and a lifetime of 120 seconds, and shows a QR code for a URL that contains the token. The code is drawn by segno as inline SVG.
2. You scan it with the phone. The phone opens the URL, the ticket becomes `scanned`, and the phone asks whether you want to sign in on the other device.
3. You confirm. The ticket becomes `confirmed`, and the computer is signed in with a fresh session of its own.

A ticket that nobody confirms in time simply expires.

## Waiting without polling hard

The sign-in page does not ask every second whether something happened. It sends one long request, and the handler waits on a `tornado.locks.Event` for that token:

```python
try:
    await event.wait(timeout=datetime.timedelta(seconds=30))
except TimeoutError:
    pass  # nothing yet: the page simply asks again
```

The phone's confirmation may well reach a different instance than the one holding the waiting request. The confirming instance updates the ticket in Redis and publishes a message; every instance wakes its local waiters for that token, and the one holding the computer's request signs that browser in.

## Staying safe

The token is long, random and good for one sign-in only. Confirming is a form post with an XSRF token, never a side effect of opening the link, and the confirmation page tells you that you are about to sign in another device. Only confirm codes you are looking at on a screen in front of you: a code someone sends you would sign in their browser, not yours.
""",
    },
    {
        "slug": "deploying-n-instances-with-one-command",
        "title": "Deploying N instances with one command",
        "category": "Getting Started",
        "source": "original",
        "tags": ["deployment", "nginx"],
        "days_ago": 59,
        "status": "published",
        "summary": (
            "One launcher starts the instances and nginx, restarts them one by one "
            "and shows their status."
        ),
        "content": """\
A single Tornado process uses one CPU core. To use a whole machine, Inkwell runs several instances on consecutive ports and puts nginx in front of them. The launcher in `deploy/` does the bookkeeping, with four subcommands: `up N`, `status`, `reload` and `down`.

## What `up` does

It starts N copies of `python main.py --port=PORT`, renders the nginx configuration from its template with one `server` line per port, and starts nginx. Every instance writes its own log, `logs/blog@PORT.log`, rotated daily, so two processes never write to the same file. The settings come from the environment, and all instances must agree on them, the cookie secret above all:

```sh
export BLOG_DATABASE_URL=mysql+pymysql://blog:secret@127.0.0.1/blog
export BLOG_REDIS_URL=redis://127.0.0.1:6379/0
export BLOG_COOKIE_SECRET=$(cat /etc/inkwell/cookie_secret)
python main.py upgradedb
```

Run `upgradedb` once before starting or reloading, not from every instance.

## Restarting without errors

`reload` restarts the instances one at a time. An instance that receives SIGTERM stops accepting connections, answers `/healthz` with 503, lets requests in flight finish for up to ten seconds and exits. The launcher waits until the new process answers `/healthz` with 200 before moving on to the next port. nginx routes around the instance in the meantime:

```nginx
location / {
    proxy_pass http://inkwell;
    proxy_set_header X-Request-ID $request_id;
    proxy_next_upstream error timeout http_503;
}
```

A connection that is refused was never delivered, so nginx may retry it on another instance, even for a POST.

## Following one request

nginx passes `X-Request-ID` to the instance, which writes it into its access log line. When a reader reports an error, one `grep` over `logs/` finds the request, whichever instance answered it.
""",
    },
    {
        "slug": "keeping-the-ioloop-free",
        "title": "Keeping the IOLoop free",
        "category": "Architecture",
        "source": "reprint",
        "tags": ["tornado", "performance", "python"],
        "days_ago": 68,
        "status": "published",
        "summary": (
            "A Tornado process has one thread for all its requests. Blocking it blocks everyone."
        ),
        "content": """\
Tornado serves every request of a process from a single thread, the IOLoop. While a handler waits on the network with `await`, the loop serves other requests. While a handler blocks, for example inside a database driver, nothing else on that process moves at all.

## Where blocking hides

SQLAlchemy with PyMySQL is synchronous: each query blocks its thread until the database answers. Hashing a password with argon2id takes tens of milliseconds of pure CPU. Rendering a long Markdown article with syntax highlighting is not free either. None of this may run on the IOLoop thread.

## Services in a thread pool

Inkwell's services are plain synchronous functions over a SQLAlchemy session. Handlers never call them directly; they await `self.run`, which runs the function in the application's thread pool with a fresh session that is closed afterwards:

```python
class ArticleHandler(BaseHandler):
    async def get(self, article_id: str) -> None:
        page = await self.run(articles.article_page, int(article_id))
        self.render("article.html", page=page)
```

The database connection pool is sized to the thread pool, so a worker never waits for a connection, and `pool_pre_ping` replaces connections the server closed while they sat idle.

## Nothing lazy on the loop

A template that touches `article.category` could quietly trigger a query on the IOLoop thread. Every relationship in Inkwell's models is declared with `lazy="raise"`: the service loads what the page needs up front, and anything it forgot fails loudly in the tests instead of slowly in production.

Redis is different: tornadis speaks to it asynchronously, so session lookups and cache messages stay on the loop without blocking it. To catch a slow callback during development, run with asyncio's debug mode, which logs every callback that holds the loop for longer than 100 ms.
""",
    },
    {
        "slug": "sanitising-comments-with-nh3",
        "title": "Sanitising comments with nh3",
        "category": "Architecture",
        "source": "original",
        "tags": ["security", "python"],
        "days_ago": 79,
        "status": "published",
        "summary": "A reader must never see a script that another commenter injected.",
        "content": """\
Comments are the one place where strangers put text on your pages. A single `<script>` that reaches another reader's browser can steal a session or rewrite the page, so Inkwell treats comments with suspicion from the first byte.

## Plain text first

A comment is plain text. Inkwell escapes it, turns line breaks into paragraphs and bare `http` and `https` addresses into links. At that point nothing the commenter typed can become markup. The HTML that Inkwell builds then passes through one more gate before it is stored.

## Why nh3

nh3 is a Python binding to ammonia, an HTML sanitiser written in Rust. It parses the fragment with html5ever, the same kind of standards-following parser a browser uses, and keeps only what an allow-list permits. Regular expressions cannot do this job: browsers repair broken markup in ways a pattern never anticipates. bleach, the long-time Python choice, has been deprecated since 2023.

```python
import nh3

html = nh3.clean(
    built_html,
    tags={"p", "br", "a"},
    attributes={"a": {"href"}},
    url_schemes={"http", "https"},
    link_rel="nofollow noopener noreferrer",
)
```

Anything outside the list disappears: `onerror` attributes, `javascript:` links, `<iframe>`, `<style>`. Links gain `rel="nofollow"`, so spam earns nothing from search engines.

## Defence in depth

Sanitising is the last line, not the only one. Comment forms carry an XSRF token, session cookies are `HttpOnly` so a script could not read them anyway, and the admin can hold comments for moderation or close them per site.
""",
    },
    {
        "slug": "tornado-blog-zh",
        "title": "用 Tornado 写博客",
        "category": "Notes",
        "source": "translation",
        "tags": ["中文", "tornado", "python", "search"],
        "days_ago": 92,
        "status": "published",
        "summary": "Inkwell 的设计思路：一个 IOLoop、一个线程池、几个 Redis 键。",
        "content": """\
Inkwell 是一个用 Python 和 Tornado 写的自托管博客。这篇文章用中文简单介绍它的设计思路，适合想自己动手写博客系统的读者。

## 为什么选择 Tornado

Tornado 自带 HTTP 服务器、模板、签名 Cookie 和 XSRF 防护，不需要额外的应用服务器。它的异步模型适合长轮询：扫码登录时，电脑端的请求可以等待三十秒而不占用任何线程。

## 不要阻塞 IOLoop

每个 Tornado 进程只有一个线程在处理所有请求。数据库查询、密码哈希、Markdown 渲染都会阻塞，所以 Inkwell 把它们放进线程池：

```python
class ArticleHandler(BaseHandler):
    async def get(self, article_id: str) -> None:
        page = await self.run(articles.article_page, int(article_id))
        self.render("article.html", page=page)
```

处理器只负责解析参数、等待服务函数、渲染页面；业务逻辑都在 `service/` 里，是普通的同步函数。

## 多进程部署

生产环境中，多个 Tornado 实例各自监听一个端口，前面由 nginx 负载均衡。为了让它们协同工作，Inkwell 用 Redis 做了几件事：

- 会话保存在 `session:<id>` 中，任何实例都能读取，用户不会因为换了实例而被登出；
- 文章更新后，通过发布/订阅通知所有实例清除本地缓存；
- 定时任务只由持有租约的“领导者”实例执行，避免重复运行。

## 中文搜索

英文单词之间有空格，中文却没有。MariaDB 没有 ngram 解析器，InnoDB 的全文索引还会忽略少于三个字符的词；SQLite 的 trigram 分词器也搜不到只有两个字的词，而大多数中文词恰好是两个字。所以 Inkwell 自己切词：英文按单词，中文按单字和相邻的两个字，每个词和文章的对应关系连同权重存进一张索引表。搜索时用同样的方法切分查询，在索引上查找，标题里的词权重更高，越少见的词越重要；三个字以上的中文词还会确认这些字在原文中是连在一起的。这样在 SQLite 和 MariaDB 上结果完全一样，搜索“博客”也能找到句子中间的这个词。

欢迎在评论区留言交流。
""",
    },
    {
        "slug": "full-text-search-in-chinese-and-english",
        "title": "Full-text search in Chinese and English",
        "category": "Notes",
        "source": "original",
        "tags": ["search", "中文", "performance"],
        "days_ago": 104,
        "status": "published",
        "summary": (
            "English separates words with spaces; Chinese does not. Search has to work for both."
        ),
        "content": """\
Searching an English blog looks easy: split the text on spaces, index the words. Try the same with 用 Tornado 写博客 and there are no spaces to split on: the whole sentence becomes one token, and a search for 博客 finds nothing.

## What the databases offer

| engine | English | Chinese |
|---|---|---|
| MySQL InnoDB `FULLTEXT` | good | needs the `ngram` parser |
| MariaDB `FULLTEXT` | good | no `ngram` parser |
| SQLite FTS5, `unicode61` | good | splits only at punctuation and spaces |
| SQLite FTS5, `trigram` | good | queries need at least three characters |

Inkwell runs on both SQLite and MariaDB, and its tests run against both, so a search built on one engine's parser would behave differently on the other.

## An index of our own

Inkwell therefore splits the text itself and keeps its own inverted index, one table that works the same on both engines. Alphabetic text becomes lower-cased words; Chinese, Japanese and Korean text becomes single characters plus every pair of neighbouring characters (bigrams), so 用 Tornado 写博客 yields 写, 博, 客, 写博 and 博客. Each term is stored once per article with a weight: a word in the title counts eight times, one in the summary three times, one in the body once.

```python
def terms(text: str) -> list[str]:
    found = []
    for token in TOKEN.findall(normalize(text)):
        if is_cjk(token):
            found.extend(token)
            found.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            found.append(token)
    return found
```

A query is split the same way, and every one of its words must match. A search for 博客 is a single lookup of the bigram 博客 in a B-tree index; for 线程池 the bigrams 线程 and 程池 must both be present, and a last check against the text makes sure the three characters really stand next to each other. English words also match as prefixes, so `sess` finds *sessions*.

## Ranking and highlighting

Results are ordered by the weight of the matched terms multiplied by how rare each term is across the blog, so a title match on an unusual word comes first. The result page shows a snippet of the article around the first match, with the matched words highlighted.

## Keeping the index fresh

Every article row remembers when it was last indexed. A search, and a job that runs every minute, re-index any article saved since then, and a change to the tokenizer re-indexes everything. Times are stored to the second, so an article saved in the same second as it was indexed is simply indexed once more.
""",
    },
    {
        "slug": "passwords-with-argon2id",
        "title": "Passwords with argon2id",
        "category": "Architecture",
        "source": "original",
        "tags": ["security", "python", "performance"],
        "days_ago": 1,
        "status": "draft",
        "summary": "Why Inkwell hashes passwords with argon2id, and what that costs.",
        "content": """\
A blog database leaks more often than anyone would like: a backup left on a file share, a dump attached to a bug report. When that happens, the password hashes must be expensive enough to make guessing impractical.

## Why argon2id

Argon2 won the Password Hashing Competition in 2015, and RFC 9106 standardised it. The `id` variant combines resistance to side-channel attacks with resistance to GPU cracking. Its strength is memory: every guess needs its own large block of RAM, which is exactly what graphics cards and custom chips have little of.

## Using argon2-cffi

Inkwell uses argon2-cffi, whose defaults follow the RFC's low-memory profile: three passes over 64 MiB with a parallelism of four.

```python
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

hasher = PasswordHasher()
stored = hasher.hash("correct horse battery staple")

try:
    hasher.verify(stored, attempt)
except VerifyMismatchError:
    ...  # wrong password
if hasher.check_needs_rehash(stored):
    stored = hasher.hash(attempt)
```

The stored string names the algorithm, version, parameters and salt, for example `$argon2id$v=19$m=65536,t=3,p=4$...`, so it can be verified even after the defaults change. When a sign-in succeeds with an older set of parameters, Inkwell hashes the password again with the current ones.

## What it costs

A hash takes tens of milliseconds of CPU and 64 MiB of memory, so it runs in the thread pool, never on the IOLoop. With eight workers all hashing at once, an instance needs about half a gigabyte for a moment. That is a price worth paying for the one page attackers like best.
""",
    },
]

COMMENTS: list[DemoComment] = [
    {
        "article": "welcome-to-inkwell",
        "author_name": "Mei Lin",
        "author_email": "mei.lin@example.com",
        "content": ("Does the demo need Redis running? I only have Python on this laptop."),
        "reply_to_floor": None,
        "is_author": False,
        "days_ago": 2,
    },
    {
        "article": "welcome-to-inkwell",
        "author_name": "Inkwell",
        "author_email": "author@example.com",
        "content": (
            "No. Without BLOG_REDIS_URL it keeps sessions in memory and uses SQLite, "
            "so a single instance runs with nothing else installed. "
            "Redis only becomes necessary once you run more than one instance."
        ),
        "reply_to_floor": 1,
        "is_author": True,
        "days_ago": 2,
    },
    {
        "article": "how-sessions-survive-behind-nginx",
        "author_name": "Tomás Ribeiro",
        "author_email": "tomas@example.org",
        "content": (
            "Good explanation of why ip_hash is a trap. The upstream module docs are worth "
            "a read for the other balancing methods: "
            "https://nginx.org/en/docs/http/ngx_http_upstream_module.html"
        ),
        "reply_to_floor": None,
        "is_author": False,
        "days_ago": 15,
    },
    {
        "article": "how-sessions-survive-behind-nginx",
        "author_name": "Inkwell",
        "author_email": "author@example.com",
        "content": (
            "Thanks! least_conn is tempting too, but with requests this short plain "
            "round-robin spreads the load just as well."
        ),
        "reply_to_floor": 1,
        "is_author": True,
        "days_ago": 14,
    },
    {
        "article": "one-leader-many-instances-the-redis-lease",
        "author_name": "Priya Natarajan",
        "author_email": "priya@example.net",
        "content": (
            "What happens if Redis itself restarts? Does every instance become leader at once?"
        ),
        "reply_to_floor": None,
        "is_author": False,
        "days_ago": 33,
    },
    {
        "article": "one-leader-many-instances-the-redis-lease",
        "author_name": "Inkwell",
        "author_email": "author@example.com",
        "content": (
            "The key disappears, so the old leader's renewal fails and it stops its jobs. "
            "Once Redis is back, SET NX still lets only one instance win."
        ),
        "reply_to_floor": 1,
        "is_author": True,
        "days_ago": 32,
    },
    {
        "article": "writing-in-markdown",
        "author_name": "Jonas Weber",
        "author_email": "jonas.weber@example.com",
        "content": "Server-side highlighting is a nice touch. One less script to load.",
        "reply_to_floor": None,
        "is_author": False,
        "days_ago": 6,
    },
    {
        "article": "tornado-blog-zh",
        "author_name": "王小明",
        "author_email": "xiaoming@example.cn",
        "content": "写得很清楚，线程池那一段正好解答了我的疑问。期待更多中文文章！",
        "reply_to_floor": None,
        "is_author": False,
        "days_ago": 88,
    },
]

WIDGETS: list[DemoWidget] = [
    {
        "title": "About",
        "kind": "html",
        "content": (
            "<p>Inkwell is a self-hosted blog written in Python and Tornado. "
            "These posts explain how it works, from Markdown to Redis.</p>"
        ),
    },
    {"title": "Categories", "kind": "categories", "content": ""},
    {"title": "Tags", "kind": "tags", "content": ""},
    {"title": "Recent articles", "kind": "recent_articles", "content": ""},
    {"title": "Recent comments", "kind": "recent_comments", "content": ""},
    {"title": "Archives", "kind": "archives", "content": ""},
    {"title": "Statistics", "kind": "stats", "content": ""},
]

SITE: DemoSite = {
    "title": "Inkwell",
    "signature": "A small blog engine that runs on many processes and tells you how.",
    "footer": "Powered by Inkwell",
}

# Pages live at /<slug>; each is also an entry of the menu, after the menus above.
PAGES: list[DemoPage] = [
    {
        "slug": "about",
        "title": "About",
        "content": (
            "Inkwell is a self-hosted blog for one author or a small team, built on "
            "**Tornado**, **SQLAlchemy** and **Redis**. The sample posts describe the "
            "blog itself: how it renders Markdown, keeps sessions behind nginx and "
            "restarts without dropping a request.\n\n"
            "This is a *page*: it has no date, category or tags, stays out of the home "
            "list and the feeds, and lives at its own address, `/about`."
        ),
    },
]

# Outside links at the end of the menu.
LINKS: list[DemoLink] = [
    {"label": "Tornado", "url": "https://www.tornadoweb.org/"},
]
