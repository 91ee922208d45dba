"""Chapter 12: the seed article's bug, reduced. Run: python3 seed_bug.py

`process_data` is a coroutine function; calling it without `await` creates a
coroutine object and runs none of its body. Executed and checked by
`cargo test -p rosetta-book-examples --test listings`.
"""

import asyncio

processed = []


async def fetch_data(url):
    await asyncio.sleep(0.001)
    return [url]


async def process_data(data):
    processed.extend(data)


async def main():
    tasks = [asyncio.create_task(fetch_data(url)) for url in ["data1", "data2"]]
    await asyncio.gather(*tasks)
    for task in tasks:
        result = await task  # redundant: a finished task gives its result again
        process_data(result)  # the bug: no `await`, so nothing is processed
    print(f"processed: {processed}")


asyncio.run(main())
