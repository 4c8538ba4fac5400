"""English slot fillers. Values shared by both classes so no filler decides the label."""

from __future__ import annotations

FIRST_NAMES = (
    "liam noah oliver elijah james william ben lucas henry theo jack leo owen mason ethan logan jacob "
    "aiden sam caleb ryan nathan dylan isaac eli miles adam jonah luke max finn jordan tyler kai omar "
    "diego mateo luis andre marcus jamal tariq ravi arjun kenji hiro emma olivia ava sophia mia amelia "
    "harper ella chloe grace lily zoe nora riley layla aria maya leah ruby ivy sadie hannah sara emily "
    "abby jade mila luna isla priya ananya fatima aisha yara zara nadia camila lucia sofia valeria "
    "jasmine kiara tia brooke paige megan katie jess becca nina tessa alexis kayla morgan taylor casey"
).split()

HANDLE_WORDS = (
    "shadow pixel frost blaze nova echo storm lunar ghost vortex neon ember rogue cosmic drift glitch "
    "turbo sonic hyper mystic crimson cyber ninja panda tiger wolf fox raven falcon dragon viper comet "
    "nebula quartz onyx cobalt maple cloud berry mango peach cookie toast noodle bubble sprout pebble "
    "sky star moon sun rain snow river ocean leaf kitty bunny puppy bear otter koala gamer player "
    "builder crafter sniper tank healer mage knight archer pilot racer skater surfer"
).split()

SLOTS: dict[str, tuple[str, ...]] = {
    "name": tuple(FIRST_NAMES),
    "friend": tuple(FIRST_NAMES),
    "game": ("roblox", "fortnite", "minecraft", "valorant", "apex", "overwatch", "rocket league", "among us",
             "genshin", "fall guys", "brawl stars", "clash royale", "cod", "warzone", "fifa", "splatoon",
             "animal crossing", "terraria", "stardew", "rainbow six", "league", "pokemon go", "adopt me",
             "bedwars", "blox fruits", "sims", "mario kart", "smash", "lethal company", "phasmophobia"),
    "private_app": ("snap", "snapchat", "discord", "telegram", "whatsapp", "kik", "insta", "signal",
                    "wickr", "the other app", "dms", "a private server"),
    "group_app": ("discord", "the group chat", "whatsapp", "messenger", "the server", "teams", "slack"),
    "currency": ("robux", "vbucks", "a skin", "a battle pass", "a gift card", "minecoins", "gems",
                 "a steam card", "an amazon card", "a nitro sub", "coins", "a psn card", "an xbox card"),
    "amount": ("500", "800", "1000", "1200", "2000", "2500", "5000", "10", "20", "25", "50", "100"),
    "kid_age": ("11", "12", "13", "14", "15", "eleven", "twelve", "thirteen", "fourteen", "fifteen"),
    "adult_age": ("19", "21", "23", "24", "26", "27", "29", "31", "33", "34", "36", "38", "41", "44"),
    "grade": ("6th", "7th", "8th", "9th", "sixth", "seventh", "eighth", "ninth", "year 7", "year 8", "year 9"),
    "school": ("lincoln middle", "westview", "oak ridge", "st marys", "riverside", "jefferson", "hillcrest",
               "maple grove", "north high", "eastwood", "central middle", "lakeside", "kennedy", "brookfield"),
    "city": ("ohio", "texas", "leeds", "manchester", "phoenix", "denver", "austin", "toronto", "sydney",
             "dublin", "atlanta", "portland", "birmingham", "glasgow", "tampa", "houston", "seattle", "bristol"),
    "place": ("the mall", "the park", "the skate park", "the library", "mcdonalds", "the cinema", "the arcade",
              "the bus stop", "starbucks", "the pool", "the gas station", "the corner store", "the rec center"),
    "subject": ("math", "science", "history", "english", "spanish", "french", "geography", "art", "pe",
                "bio", "chem", "music", "coding", "drama", "algebra"),
    "sport": ("soccer", "basketball", "football", "volleyball", "swim", "track", "hockey", "tennis",
              "baseball", "gymnastics", "dance", "karate", "softball", "lacrosse", "wrestling"),
    "pet": ("dog", "cat", "hamster", "bunny", "puppy", "kitten", "guinea pig", "lizard", "fish", "parrot"),
    "pet_name": ("biscuit", "luna", "max", "coco", "milo", "bella", "oreo", "pepper", "nugget", "ziggy",
                 "mochi", "teddy", "daisy", "rocky", "peanut"),
    "food": ("pizza", "tacos", "ramen", "nuggets", "pasta", "burgers", "sushi", "pancakes", "mac and cheese",
             "fries", "wings", "curry", "noodles", "cereal", "waffles"),
    "show": ("stranger things", "the office", "wednesday", "one piece", "bluey", "squid game", "outer banks",
             "naruto", "jjk", "demon slayer", "avatar", "spongebob", "the bear", "friends", "ginny and georgia"),
    "music": ("taylor swift", "drake", "olivia rodrigo", "billie eilish", "the weeknd", "sza", "kpop",
              "lofi", "ice spice", "doja cat", "bts", "sabrina carpenter", "travis scott", "metallica", "rap"),
    "day": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "tmrw", "tonight",
            "this weekend", "next week"),
    "time": ("3", "4", "5", "6", "7", "8", "after school", "after practice", "lunch", "noon", "4:30", "6:15"),
    "relative": ("mom", "dad", "grandma", "grandpa", "aunt", "uncle", "stepdad", "stepmom", "nana"),
    "sibling": ("bro", "sis", "brother", "sister", "little bro", "big sis", "lil sis", "big bro"),
    "item": ("hoodie", "charger", "headphones", "jacket", "backpack", "phone", "water bottle", "keys",
             "notebook", "calculator", "controller"),
    "feeling": ("bored", "tired", "stressed", "hungry", "sick", "annoyed", "sleepy", "hyped", "sad", "chill"),
    "adj": ("cool", "nice", "funny", "smart", "chill", "sweet", "awesome", "talented", "kind", "clever"),
    "work_thing": ("the report", "the deck", "the invoice", "the q3 numbers", "the client call", "the rota",
                   "the standup", "the spreadsheet", "the budget", "the audit", "the launch"),
    "event": ("the con", "comic con", "the convention", "the tournament", "the meetup", "the expo", "pax",
              "the lan party", "the concert", "the festival"),
    "order": ("order 4821", "order 1177", "order 9034", "order 3310", "order 7765", "ticket 5521", "ticket 2093"),
}
