"""English benign scenarios (label 0): ordinary chats and hard negatives with grooming surface cues.

Each scenario has a `lead` pool (the person driving the topic) and a `reply` pool. Hard negatives
deliberately carry the cues a keyword model would latch onto: secrets, home-alone, gifts, app moves,
rides, age questions, selfies, meetings, quoted grooming lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from groomguard.training.synth.templates import Pool

Cast = Literal["teens", "adults", "family", "adult_teen"]


@dataclass(frozen=True)
class Scenario:
    name: str
    lead: Pool
    reply: Pool
    cast: Cast
    hard: bool


def S(name: str, cast: Cast, hard: bool, lead: tuple[str, ...], reply: tuple[str, ...]) -> Scenario:
    return Scenario(name, Pool(name, lead), Pool(f"{name}_reply", reply), cast, hard)


SCENARIOS: tuple[Scenario, ...] = (
    S("teen_friends", "teens", False, (
        "[did u|u] [do|finish|start] the {subject} [hw|homework|project] [yet|already|]",
        "[wanna|u wanna|want to] [go to|hit up|meet at] {place} [on {day}|after school|later]",
        "[omg|bro|dude] [did u see|u saw] what {friend} [did|posted|said] [in {subject}|at lunch|today]",
        "[can i|could i] [borrow|get back] [ur|my] {item} [tmrw|on {day}|]",
        "[{friend}|our teacher] [is|was] [so|soo] [annoying|funny|weird] [today|in {subject}] [lol|ngl|]",
        "[are u|r u] going to {friend}s [party|sleepover|bday] [on {day}|this weekend|]",
        "[im|i'm] [so|soo] [bored|tired|done] [in|with] {subject} [rn|today|lol]",
        "[whats|what is] [the|our] {subject} [test|quiz] on [again|{day}|]",
        "[lets|we should] [study|facetime|hang] [for|before] the {subject} [test|quiz] [later|on {day}]",
        "[my|ma] {relative} [said|says] [i can|i cant] [come|go] [to {place}|on {day}] [ugh|yay|lol]",
    ), (
        "[yeah|ya|yea] [i did|almost|not yet] [it was|its] [easy|so hard|long] [lol|ngl|]",
        "[sure|bet|ok] [what time|{time}|after school] [works|?|then]",
        "[no way|omg|lmaooo] [thats|that is] [crazy|so funny|wild]",
        "[yeah|ya] [ill|i can] [bring it|text u|ask my {relative}] [tmrw|later|]",
        "[im|i'm] [think so|not sure yet|prob going] [are u|u going|wbu]",
        "[same|fr|literally same] [im|i'm] [cant wait|so done|dying] [lol|haha|]",
        "[its|i think its] on {day} [i think|we are so cooked|ugh]",
        "[ok|okay] [lets do it|bet|sounds good] [ill|i will] [call u|text u] [at {time}|later]",
    )),
    S("gaming_squad", "teens", False, (
        "[u on|hop on|get on] {game} [rn|tonight|at {time}|later]",
        "[we|we're] [need|need a] [fourth|third|healer|sniper] for {game} [u in|come on|]",
        "[bro|dude] [that|the last] [game|round|match] was [so|soo] [sweaty|laggy|close] [lol|ngl|]",
        "[who|who tf] [keeps|kept] [leaving|quitting|throwing] [the|our] [lobby|squad|game]",
        "[im|i'm] [finally|almost] [hit|got to|reached] [diamond|gold|plat|level 50] in {game}",
        "[join|come to] [the|our] [vc|party|lobby] [in {game}|its open|]",
        "[did u|u] [see|get] the new [update|season|skin|map] [in|for] {game}",
        "[my|ma] [wifi|controller|pc] [is|keeps] [dying|lagging|disconnecting] [rn|again|ugh]",
        "[gg|ggs] [that|we] [was|were] [insane|cracked|so bad] [lol|haha|]",
        "[after|when] [dinner|hw|practice] [we|lets] [run|play|grind] {game} [again|more|]",
    ), (
        "[yeah|ya|yea] [one sec|gimme 5|2 min] [lol|brb|]",
        "[im|i'm] [in|down|on] [rn|now|after dinner]",
        "[that was|it was] [so|soo] [fun|bad|funny] [lol|lmao|ngl]",
        "[{friend}|it was {friend}] [again|i think|lol]",
        "[nice|gg|no way] [im|i'm] [still|stuck] [in|on] [silver|bronze|gold] [lol|ugh|]",
        "[my|ma] {relative} [says|said] [i have to|i gotta] [eat|sleep|do hw] [first|soon|lol]",
        "[bet|ok] [send|drop] [the|an] [inv|invite|code] [again|pls|]",
        "[ye|yea] the [update|new map|new skin] is [fire|trash|mid] [ngl|lol|]",
    )),
    S("peer_handles", "teens", False, (
        "[whats|what is] [ur|your] {private_app} [again|i lost it|?|]",
        "[add|follow] me on {private_app} [its|my user is] {name}{amount}",
        "[are u|r u] on {private_app}[?| everyone in class is| lol]",
        "[i|i just] [made|got] {private_app} [finally|lol|] [add me|what's ur user]",
        "[send me|drop] [ur|your] {private_app} [so we can|and we can] [streak|talk about the project|plan the thing]",
        "[{friend}|someone from class] [made|started] a {private_app} [group|server] [for|about] {subject}",
        "[my|ma] [mom|dad] [finally|just] [let me|said i can] [get|have] {private_app} [lol|yay|]",
        "[we|lets] [move|switch] [the|our] [group chat|gc] to {private_app} [its easier|lol|]",
        "[sorry|srry] [i|i was] [didnt see|lost] [ur|your] [snap|message] [my phone died|lol|]",
        "[ur|your] {private_app} [streak|story] [is|was] [so funny|insane|fire] [lol|haha|]",
    ), (
        "[its|my user is] {name}_{amount} [add me|lol|]",
        "[ok|kk] [added|added u|following u] [back|lol|]",
        "[yeah|ya] [im|i'm] [on it|there] [now|lol] [add me back|]",
        "[my|ma] [mom|parents] [wont|don't] let me [have it|get it] [yet|ugh|lol]",
        "[lmao|lol] [same|yes] [add me|join] [too|pls|]",
        "[ok|bet] [check|see] [ur|your] [requests|messages] [lol|]",
        "[omg|yay] [finally|welcome] [lol|haha|]",
        "[sure|ok] [lets|we can] [do|plan] [it|the project] [there|on {day}]",
    )),
    S("strict_parents", "teens", False, (
        "[my|ma] [parents|mom|dad] [took|are taking] [my|ma] [phone|switch|xbox] [again|for a week|rn]",
        "[im|i'm] [not allowed|grounded] [to go to|from] {place} [ugh|lol|this week]",
        "[my|ma] {relative} [checks|reads|looks at] [my|all my] [texts|messages|screen time] [every night|always|lol]",
        "[why|why are] [my|ma] parents [so|soo] [strict|annoying|overprotective] [fr|ngl|ugh]",
        "[i have|i got] [a|to be home by a] curfew [at {time}|its so early|lol]",
        "[my|ma] [mom|dad] [has|put] [location sharing|screen time|parental controls] on [me|my phone] [ugh|lol|]",
        "[they|my parents] [wont|won't] let me [go to|sleep over at] [{friend}s|the party|{place}] [ugh|bc of grades|]",
        "[im|i'm] [literally|actually] [the only one|the only person] [without|who cant have] {private_app} [lol|ugh|]",
        "[my|ma] [mom|dad] [made me|is making me] [do|finish] [chores|hw|{subject}] [first|before anything]",
        "[i|i gotta] [ask|beg] [my|ma] [mom|parents] [first|again] [wish me luck|lol|]",
    ), (
        "[same|fr|mine too] [my|ma] {relative} [does|did] [that|the same] [lol|ugh|]",
        "[thats|that's] [so|soo] [unfair|annoying|dumb] [ngl|fr|]",
        "[rip|oof|f] [ur|your] [phone|weekend|life] [lol|lmao|]",
        "[at least|well] [they|ur mom] [care|cares] [i guess|lol|tho]",
        "[just|maybe] [ask|talk to] [them|ur mom] [again|later|after dinner]",
        "[lmao|lol] [ur|you're] [cooked|done] [fr|ngl|]",
        "[ugh|ya] [mine|my {relative}] [is|are] [worse|the same] [lol|tbh|]",
        "[good luck|gl] [lol|haha|fr]",
    )),
    S("peer_crush", "teens", False, (
        "[omg|wait] [i|i think i] [like|have a crush on] {friend} [dont laugh|lol|ngl]",
        "[do u|u] [think|thinks] {friend} [likes|like] [me|me back|anyone] [lol|fr|]",
        "[{friend}|they] [sat|talked] [next to|to] [me|me] [in {subject}|at lunch|today] [omg|!!|lol]",
        "[should i|do i] [ask|text] {friend} [to|about] [the dance|{place}|the party] [help|idk|]",
        "[dont|pls dont] tell [anyone|{friend}|the gc] [i like them|about my crush] [lol|pls|]",
        "[im|i'm] [so|soo] [nervous|embarrassed] [to|about] [text|talking to] {friend} [lol|ugh|]",
        "[{friend}|they] [liked|viewed] [my|ma] [story|post] [omg|!!|what does that mean]",
        "[we|me and {friend}] [are|r] [going to|going] [the dance|{place}] [together|as friends|?]",
        "[i think|i feel like] [{friend}|they] [is|are] [dating|talking to] someone [else|from {school}|ugh]",
        "[help|omg help] [what do i|what should i] [say|text] [to|back to] {friend}",
    ), (
        "[omg|oh my god] [i knew it|finally|yesss] [lol|haha|!!]",
        "[i think|i feel like] [they|{friend}] [do|might|def do] [tbh|lol|fr]",
        "[just|u should] [ask|text] [them|{friend}] [lol|ur overthinking|its fine]",
        "[i wont|i won't] [tell|say anything] [promise|lol|ever]",
        "[thats|that's] [so|soo] [cute|funny] [lol|haha|omg]",
        "[idk|hmm] [maybe|prob] [ask|check with] {friend} [first|lol|]",
        "[say|text] [hi|hey] [and|then] [ask|talk] about {show} [lol|easy|]",
        "[no way|wait] [really|fr] [who|from where] [lol|?|]",
    )),
    S("coworkers", "adults", False, (
        "[did u|have you] [send|sent|finish|finished] {work_thing} [yet|already|]",
        "[can u|could you] [cover|take] [my|the] [shift|call|meeting] on {day}",
        "[meeting|standup|the call] [moved|got pushed] to {time} [fyi|btw|]",
        "[the|our] [manager|boss|client] [wants|asked for] {work_thing} [by|before] {day}",
        "[want|wanna] [grab|get] [lunch|coffee|{food}] [at|around] {time}",
        "[im|i'm] [running|gonna be] [late|10 min late] [traffic|train delays|sorry]",
        "[did|have] [you|u] [see|seen] the [email|memo|message] [about|from] [hr|it|the client]",
        "[can|could] [you|u] [review|look at] {work_thing} [before|by] {time}",
        "[printer|wifi|vpn] [is|is down] [again|broken] [lol|ugh|]",
        "[i|ill] [be|am] [wfh|off|out] [on|this] {day}",
    ), (
        "[yep|yes|yeah] [just|] [sent|done|finished] [it|] [a min ago|this morning|]",
        "[sure|no problem|np] [ill|i can] [cover|handle] [it|that]",
        "[thanks|thx|cheers] for [the heads up|letting me know]",
        "[ugh|ok] [ill|i'll] [get on|start] it [now|after lunch]",
        "[sounds good|sure] [see u|meet u] [at|by] [the lobby|the kitchen|{time}]",
        "[no worries|np|all good] [we|i'll] [start|wait] [without u|for u]",
        "[yeah|yep] [annoying|classic] [lol|ugh|]",
        "[ok|noted] [enjoy|have fun] [lol|]",
    )),
    S("adult_dating", "adults", False, (
        "[so|haha so] [how old|what age] [are u|r u] [btw|again|]? [im|i'm] {adult_age}",
        "[im|i'm] {adult_age} [btw|fyi|lol] [and|] [work in|do] [nursing|marketing|it|sales|teaching]",
        "[wanna|want to] [grab|get] [drinks|coffee|dinner] [on|this] {day}",
        "[ur|your] [profile|pics] [are|is] [great|cute|funny] [lol|haha|]",
        "[what|what do] [u|you] do for [work|a living] [again|?|]",
        "[i can|ill] [pick u up|drive] [or|or we] [meet there|take an uber] [ur call|either works]",
        "[had|i had] [a|such a] [great|fun|nice] time [last night|yesterday|on {day}] [btw|]",
        "[my|ma] [roommate|sister|friend] [says|said] [hi|ur funny] [lol|haha|]",
        "[after|when] [work|my shift] [im|i'm] [free|off] [around|at] {time}",
        "[do u|u] [like|into] {food} [theres|i know] a [great|good] place [downtown|near me]",
    ), (
        "[im|i'm] {adult_age} [too|haha|lol] [and|] [work|i work] in [finance|retail|design|a lab]",
        "[sounds|that sounds] [great|fun|good] [what time|where|?]",
        "[aw|haha] [thanks|thank u] [yours too|lol|]",
        "[ill|i'll] [meet u|meet you] there [at {time}|its easier|]",
        "[me too|same] [we|lets] [do it again|go again] [soon|on {day}]",
        "[haha|lol] [tell her|say] [hi back|thanks]",
        "[yes|yeah] [love|i love] {food} [lol|!|]",
        "[perfect|great] [see u|see you] [then|there|at {time}]",
    )),
    S("support_chat", "adults", False, (
        "[hi|hello] [i|my] [need help|have an issue] with [my|] {order}",
        "[can u|could you] [check|look up] [the status of|] {order} [please|pls|]",
        "[my|the] [package|delivery|refund] [hasnt|still hasnt] [arrived|come|shown up] [yet|since {day}]",
        "[i was|i got] [charged|billed] twice for {order}",
        "[how do i|can i] [reset|change] [my|the] [password|email|address] [on|for] [my account|the app]",
        "[the|your] [app|site] [keeps|is] [crashing|logging me out|not loading] [again|since {day}|]",
        "[i|id] [like|want] to [cancel|return|exchange] {order}",
        "[is there|do u have] [a|any] [discount|promo|coupon] [code|] [for|on] [returning customers|this]",
        "[ok|thanks] [and|] [how long|when] [will|does] [it|the refund] [take|arrive]",
        "[can i|could i] [speak|talk] to [a manager|someone else|a supervisor] [please|pls|]",
    ), (
        "[sure|certainly|of course] [let me|ill] [check|look] [that|into that] [for you|now]",
        "[i see|i can see] {order} [is|was] [shipped|delayed|processed] [on {day}|today]",
        "[sorry|apologies] for [the trouble|the wait|that] [ill|let me] [fix it|sort it]",
        "[you can|u can] [reset|change] it [under|in] [settings|your account page]",
        "[the refund|it] [takes|should take] [3|5|7] [business days|days]",
        "[is there|anything] [else|more] i can help with [today|?|]",
        "[ive|i've] [applied|added] [a|the] [credit|discount] [to|on] your account",
        "[one moment|just a sec] [please|pls] [checking|looking]",
    )),
    S("parent_child", "family", False, (
        "[did u|have u] [eat|finish|do] [ur|your] [lunch|hw|{subject} homework] [yet|today|?]",
        "[ill|i'll] [pick u up|be there] at {time} [by the gate|at {place}|ok]",
        "[what|what do u] [want|wanna eat] for dinner [tonight|?|] [{food}|]",
        "[dont|dont forget] [forget|] [ur|your] {item} [tomorrow|for {sport}|again]",
        "[text me|call me] [when|once] [u get|ur] [to|at] [{friend}s|{place}|school]",
        "[how|how was] [school|practice|the test|{subject}] [today|?|]",
        "[grandma|nana|ur aunt] [is|will be] [coming|here] [on {day}|for dinner|this weekend]",
        "[clean|please clean] [ur|your] room [before|by] {day} [pls|thanks|]",
        "[love u|love you] [have|have a] [good day|fun at {sport}|good practice]",
        "[the|ur] {pet} [needs|has to] [a walk|feeding|the vet] [after school|tonight]",
    ), (
        "[ok|okay] [mom|dad|] [i will|got it|sure]",
        "[yeah|yes] [i did|i ate|all done] [mostly|lol|]",
        "[can we|can i] [get|have] {food} [pls|please|?]",
        "[it was|it's] [fine|ok|good|boring] [i guess|lol|]",
        "[ok|kk] [love u too|love you|ty]",
        "[im|i'm] [here|at {place}|at {friend}s] [now|already]",
        "[ugh|fine] [ok|okay] [ill|i'll] do it [later|after {game}]",
        "[yay|cool] [is|will] [grandma|nana] [bring|bringing] [cookies|presents|?]",
    )),
    S("siblings", "family", False, (
        "[did u|who] [eat|took] [my|the last] [{food}|snacks|charger] [again|?|]",
        "[mom|dad] [says|said] [come|get] [down|home] [for|its] dinner [now|rn|lol]",
        "[can i|lemme] [borrow|use] [ur|your] {item} [pls|for a sec|]",
        "[stop|dont] [using|taking] [my|ma] {item} [without asking|ugh|!!]",
        "[are u|r u] [going to|coming to] {friend}s [thing|party] [on {day}|later|?]",
        "[can u|could u] [drive|take] me to {place} [later|at {time}|pls]",
        "[u|you] [left|forgot] [ur|your] {item} [in the car|at home|lol]",
        "[whats|what is] the [wifi|netflix|disney] password [again|lol|?]",
        "[tell|dont tell] [mom|dad] [i|that i] [broke|lost|borrowed] [the|ur] {item} [lol|pls|]",
        "[wanna|u wanna] [play|watch] [{game}|{show}] [later|after dinner|tonight]",
    ), (
        "[wasnt me|not me|lol no] [ask|it was] [{relative}|the dog|{friend}] [lol|]",
        "[ok|coming|omw] [in a sec|now|lol]",
        "[fine|ok] [but|just] [give it back|dont break it] [lol|ok|]",
        "[lol|lmao] [ok|sorry] [my bad|relax]",
        "[maybe|prob] [if|when] [mom|dad] [says ok|lets me] [lol|]",
        "[sure|ok] [leave|be ready] at {time}",
        "[its|it's] [on the fridge|the same as before|{pet_name}123] [lol|]",
        "[bet|ok] [after|when] [i finish|im done] [hw|this]",
    )),
    S("cousins", "family", False, (
        "[are u|r u] [coming|going] to [grandmas|nanas|the family thing] [on {day}|for thanksgiving|this summer]",
        "[omg|yo] [its been|it's been] [forever|so long] [how r u|hows {city}|lol]",
        "[did u|u] [see|hear] [what|about] [uncle|aunt] [{name}|] [said|did] [lol|omg|at dinner]",
        "[we|my family] [are|r] [visiting|driving to] {city} [next week|on {day}|this summer]",
        "[my|ma] [mom|dad] [said|says] [u guys|ur family] [are|r] [staying|coming] [over|with us]",
        "[happy|hbd|happy bday] [cousin|lol|!!] [whatd u get|hope its fun]",
        "[do u|u] [still|] play {game} [we should|lets] [play|run it] [when|after] [u visit|dinner]",
        "[send|show] [me|] [pics|a pic] [of|from] [the trip|the beach|ur new {pet}] [pls|lol|]",
        "[grandma|nana] [wants|asked for] [a|the] [family pic|group photo] [again|lol|]",
        "[bring|dont forget] [ur|your] [switch|swimsuit|{item}] [when|to] [u come|grandmas]",
    ), (
        "[yes|yeah|ya] [we|we're] [coming|driving up] [on {day}|saturday|lol]",
        "[good|im good] [its|it's] [boring|fun|cold] here [lol|haha|]",
        "[lmao|lol] [classic|of course] [{relative}|uncle {name}] [lol|]",
        "[omg|yay] [we|lets] [should|go to] [hang|{place}] [then|!!|]",
        "[thx|thank u] [i got|got] [a|an] [{item}|switch|new phone] [lol|!!]",
        "[yea|ok] [ill|i'll] [bring|pack] it [lol|]",
        "[here|ok] [sending|ill send] [them|it] [now|later]",
        "[ugh|lol] [fine|ok] [but|] [im|i'm] [not|] [smiling|dressing up] [lol|]",
    )),
)
