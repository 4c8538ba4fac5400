"""English everyday filler shared by BOTH classes: games, school, music, sport, pets, food, shows.

Positives and negatives draw their ordinary chat from the same pools, so neither the filler nor
its length can tell the classes apart; only the tactic/scenario lines carry the label.
"""

from __future__ import annotations

from groomguard.training.synth.templates import Pool

P = Pool

CHAT_TEEN = P("chat_teen", (
    "[hey|hi|yo|heyy|sup|hii|hello] [whats up|wyd|hru|how r u|whats good|hows it going] [{name}|lol|bro|dude|girl|today|rn]",
    "[im|i'm|been] [playing|grinding|stuck on|addicted to|bored of] {game} [rn|again|all day|since {time}|since school|lately] [lol|ngl|fr|tbh]",
    "[did u|u|have u] [see|watch|seen] [the new|last nights|the latest|the finale of] {show} [episode|ep|season] [yet|?|omg|lol|already]",
    "[i've|ive|been] [been listening to|been replaying|had] {music} [on repeat|nonstop|all day|since {day}|in my head all day] [lol|fr|ngl|ugh]",
    "{subject} [was|is|has been] [so|soo|kinda|really] [boring|long|chaotic|hard|easy|weird] [today|this week|since {day}] [ngl|lol|ugh|fr]",
    "[my|ma] {pet} {pet_name} [just|literally|finally] [knocked over|ate|stole|sat on|chewed] [my|ma] [{item}|{food}|sock|homework] [lol|lmao|omg]",
    "[i have|i got] [{sport}|practice|a game] [on|at] [{day}|{time}] [and|but] [im|i'm] [{feeling}|so {feeling}|kinda {feeling}] [lol|ugh|tbh]",
    "[what|wat] [r u|are u|u] [doing|up to|planning] [this weekend|on {day}|later|after {sport}|after {subject}|tonight|after school] [lol|?|{name}]",
    "[we|we're|were] [having|got|making] {food} [for dinner|tonight|again|on {day}|for lunch] [lol|yay|ugh|finally]",
    "[that|the] [new|last|latest] {game} [update|season|event|patch] [is|was] [so|soo|kinda|lowkey] [good|bad|mid|broken|fun] [lol|ngl|fr|tbh]",
    "[my|ma] {relative} [is|was|keeps] [making me|forcing me to|telling me to] [clean|go to {place}|do {subject}|walk the {pet}|eat {food}] [lol|ugh|rn]",
    "[u|do u|you] [play|like|still play] {game} [too|?|or nah|at all|lately]",
    "[favorite|fav|top] [song|artist|album] [rn|right now|this week] [?|lol] [mine|mines] [is|is prob] {music}",
    "[we|my team|our team] [won|lost|tied] [our|the] {sport} [game|match|tournament] [today|on {day}|yesterday|vs {school}] [lol|!!|ugh|fr]",
    "[have u|u|did u] [ever|] [been to|went to|go to] {place} [in|near|by] {city} [its|lol its] [fun|mid|cool|packed]",
    "[im|i'm|been] [watching|bingeing|rewatching] {show} [again|rn|since {day}|with my {relative}] [its so good|no regrets|lol|ngl]",
    "[my|ma] [phone|wifi|laptop|ipad|switch] [is|keeps] [dying|lagging|so slow|glitching|freezing] [rn|today|since {time}|ugh] [lol|fr|ngl]",
    "[whats|what is] [ur|your] [fav|favorite] [{food} place|game besides {game}|show besides {show}|animal|subject|song by {music}] [lol|?|{name}]",
    "[its|it's] [so|soo|way too|kinda] [hot|cold|rainy|windy|snowy] [here|today|in {city}|at {place}] [lol|ugh|ngl]",
    "[{friend}|my {sibling}|my {relative}] [said|told me|thinks] {game} [is|was] [trash|fire|mid|overrated|so fun] [lol|lmao|ngl]",
    "[we|my class|{friend} and i] [have|had] a {subject} [test|quiz|project] [on|this] {day} [im|i'm] [not ready|cooked|kinda ready] [lol|fr|ugh]",
    "[just|i just] [got|finished|ate] {food} [from|at] {place} [lol|so good|ngl|mid]",
    "[can't|cant|i cant] [wait|believe] [for|its] [{day}|the weekend|summer|the {game} event] [lol|fr|omg|ngl]",
    "[{friend}|my {sibling}] [got|has] a new {pet} [named|called] {pet_name} [so cute|omg|lol]",
    "[i|i kinda] [want|wanna|need] [new|a new] [{item}|shoes|headphones|skin in {game}] [so bad|lol|fr|ngl]",
    "[did u|u] [hear|see] [what|the thing] {friend} [posted|said|did] [about|in|at] [{subject}|{place}|{game}] [lol|omg|?]",
))

CHAT_ADULT = P("chat_adult", (
    "[hey|hi|morning|evening|hello] [how r u|hows it going|hows your week|how was {day}] [{name}|lol|?]",
    "[so|soo|really] [tired|busy|swamped|behind] [today|this week|since {day}] [lol|ugh|honestly|haha]",
    "[did u|have u] [watch|seen|start] {show} [yet|?|last night] [its|it's] [so|really|kinda] [good|bad|weird|slow]",
    "[im|i'm] [making|getting|ordering|craving] {food} [tonight|for dinner|on {day}|for lunch] [lol|haha|again]",
    "[the|this] [weather|traffic|commute|train] [is|was] [awful|insane|so bad|fine actually] [today|this morning|since {time}] [lol|ugh|]",
    "[finally|just] [finished|started] [{show}|a new book|a puzzle|{game}] [lol|last night|on {day}|haha]",
    "[my|ma] {pet} {pet_name} [is|has been] [so|soo|really] [needy|funny|lazy|loud] [today|lately|since {day}] [lol|haha|honestly]",
    "[any|got] [plans|anything fun] [for|this] [the weekend|{day}|tonight] [?|{name}|lol]",
    "[been|i've been] [playing|replaying] {game} [again|lately|since {day}] [lol|its a problem|haha|honestly]",
    "[listening to|been into|obsessed with] {music} [lately|again|rn] [lol|dont judge|haha|honestly]",
    "[im|i'm] [going to|heading to] [the gym|{place}|my parents|{city}] [later|on {day}|after work] [lol|haha|]",
    "[work|my week|{day}] [was|has been] [long|rough|fine|weird] [ngl|lol|honestly|tbh]",
    "[we|i] [should|need to] [catch up|get {food}|go to {place}] [soon|on {day}|sometime] [lol|!|haha]",
    "[my|ma] [neighbor|landlord|boss|coworker] [did|said] [something|smth] [so|really] [weird|annoying|funny] [again|today|on {day}] [lol|ugh]",
    "[its|it's] [so|soo|way too] [hot|cold|rainy|grey] [in|here in] {city} [lol|ugh|honestly]",
    "[happy|its|finally] [friday|{day}|payday] [lol|!!|haha|finally]",
    "[i|i'm] [trying|learning] [to cook|to run|{sport}|to bake] [again|lately|on {day}s] [lol|wish me luck|haha]",
    "[did u|u] [see|hear about] the [news|{sport} game|{show} finale] [last night|today|?] [lol|wild|honestly]",
    "[lol|haha] [that|ur] [meme|video|post] [about|with] [{food}|{pet}s|{show}|work] [was|is] [so|soo] [funny|good|true]",
    "[coffee|tea|{food}] [is|was] [the only thing|all] [getting me through|i had] [today|this week|since {time}] [lol|honestly|haha]",
    "[my|ma] [sister|brother|mom|friend {name}] [is|are] [visiting|moving to] {city} [on|this] {day} [lol|haha|finally]",
    "[just|i just] [booked|cancelled|planned] [a trip|dinner|a haircut] [to|at|for] [{city}|{place}|{day}] [lol|finally|haha]",
))

_I = "[lol|lmao|haha|omg|bro|dude|wait|ok|yeah|nah|girl|bruh|ngl|tbh|fr|ugh|oh|hmm|ayo|yo]"
_T = "[lol|fr|tho|ngl|haha|rn|tbh|honestly|lmao|ig|ok|bro|dude|omg|istg|lowkey|deadass|for real]"

# Reactions are the most frequent lines in any chat, so each is built from three independent parts
# (interjection x core x tail, ~20 x 15 x 18 each) to keep every line under 1% of conversations.
REACTIONS = P("reaction", (
    _I + " [same|me too|mood|relatable|same here|literally me|so true|true|facts|real|valid|fair|ikr|exactly|big mood] " + _T,
    _I + " [no way|stop|thats crazy|thats wild|for real|are u serious|what|how|why|since when|u serious|insane|crazy|unreal|wild] " + _T,
    _I + " [sounds good|bet|sure|cool|nice|ok then|alright|fine|works for me|noted|got it|say less|perfect|deal|okie] " + _T,
    _I + " [idk|i dunno|maybe|not sure|no idea|who knows|could be|probably|prob not|kinda|sort of|i guess|possibly|eh|hmm] " + _T,
    _I + " [thats funny|so funny|im dying|im crying|dead|hilarious|im weak|cant breathe|love that|iconic|classic|amazing|legend|too funny|im wheezing] " + _T,
    _I + " [thats sad|rip|oof|that sucks|unlucky|damn|yikes|rough|brutal|sad|pain|f|not fun|big oof|tragic] " + _T,
    _I + " [one sec|brb|gtg|hold on|wait up|gimme a min|back soon|afk|2 min|gotta eat|mom calling|phone dying|bout to shower|gotta go|bbl] " + _T,
    _I + " [nice|good|great|sick|dope|fire|cool|sweet|awesome|epic|clean|solid|lit|goated|w] " + _T,
    _I + " [no|nope|nah|never|not really|hell no|absolutely not|no thanks|pass|not me|not today|no shot|negative|no chance|nuh uh] " + _T,
    _I + " [yes|yep|yup|yeah|ya|sure thing|of course|obviously|def|totally|absolutely|mhm|yesss|100|always] " + _T,
    _I + " [what do u mean|wdym|huh|wym|say again|what|explain|hm what|come again|u lost me|context|which one|who|when|where] " + _T,
    _I + " [{name}|ur funny|ur crazy|ur wild|ur so random|ur the best|love u|ily|my guy|ur weird|ur a legend|u good|ur mean|ur right|ur wrong] " + _T,
))
