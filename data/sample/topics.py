"""Hand-written facts for the sample collection (original text written for this workbook).

Every topic has: how its items are named and numbered, two intro sentences, background sentences
(used to pad long documents), and three attributes with three values each. A value has
``say`` (two ways a passage states it), ``plain`` (a phrase in the passage's own words, for
plain queries) and ``para`` (the same fact in different words, for paraphrase queries).
All items, names and numbers are fictional.
"""

T = []


def topic(**kw):
    T.append(kw)


topic(
    key="houseplants", noun="houseplant", para_noun="leafy companion for a flat", suffixes=["fern", "palm", "ivy", "lily", "vine"],
    id_fmt="PL-{d4}",
    intro=["The {name} (catalogue {id}) is a houseplant grown in pots on shelves and windowsills.",
           "Sold under catalogue number {id}, the {name} is a common houseplant."],
    filler=["Most houseplants suffer more from too much water than from too little.",
            "Repotting is best done in spring, when roots start growing again after the winter pause.",
            "A saucer of wet pebbles under the pot raises the humidity around the leaves.",
            "Yellow lower leaves are usually a sign that the soil stays wet for too long.",
            "Fertiliser should be diluted to half strength and skipped entirely during winter.",
            "Leaves collect dust indoors, and a damp cloth keeps them able to take in light.",
            "Plastic pots hold moisture longer than terracotta ones, which breathe through their walls."],
    attrs=[
        dict(name="light", q="How much light does the {name} need?", values={
            "sun": dict(say=["{It} needs bright, direct sunlight for at least six hours a day.", "{It} only thrives in full sun on a south-facing sill."],
                        plain="needs direct sunlight", para="craves blazing, unshaded sunshine"),
            "shade": dict(say=["{It} tolerates deep shade and grows well in low light.", "{It} is happy in a dark corner with low light."],
                          plain="grows in low light and shade", para="fine in a murky nook with hardly any daylight"),
            "filtered": dict(say=["{It} prefers bright but indirect light, such as behind a sheer curtain.", "Bright, filtered light suits {it} best; direct sun scorches the leaves."],
                             plain="prefers bright indirect light", para="enjoys a glow softened by gauze, harsh beams burn the foliage")}),
        dict(name="water", q="How often should the {name} be watered?", values={
            "often": dict(say=["{It} must be watered every two or three days so the soil never dries out.", "The soil of {it} should stay moist; water every few days."],
                          plain="watered every few days, soil kept moist", para="gets thirsty fast, demanding permanently soggy compost"),
            "rarely": dict(say=["{It} stores water in its thick leaves and needs watering only once a month.", "Water {it} once a month at most; it rots if kept wet."],
                           plain="watered only once a month", para="a camel among greenery, surviving drought between rare drinks"),
            "weekly": dict(say=["{It} should be watered weekly, once the top layer of soil feels dry.", "A weekly watering, when the surface soil is dry, keeps {it} healthy."],
                           plain="watered weekly when the top soil is dry", para="a drink on a fixed weekday")}),
        dict(name="pets", q="Is the {name} safe for cats and dogs?", values={
            "toxic": dict(say=["Its sap is toxic to cats and dogs, so it should be kept out of their reach.", "All parts of {it} are poisonous to pets."],
                          plain="toxic to cats and dogs", para="venom for a nibbling kitten or puppy"),
            "safe": dict(say=["{It} is non-toxic and safe to keep around cats and dogs.", "Pet owners like {it} because it is harmless to animals."],
                         plain="non-toxic and safe for pets", para="no danger to kittens and puppies"),
            "irritant": dict(say=["Its leaves can irritate skin, so gloves are advised when pruning.", "Handling {it} bare-handed may cause a mild rash."],
                             plain="leaves irritate skin", para="touching the foliage gives fingers an itchy red blotch")}),
    ])

topic(
    key="bicycle", noun="bicycle component", para_noun="gear for a two-wheeler", suffixes=["derailleur", "brake caliper", "crankset", "hub", "chain"],
    id_fmt="{L2}-{d4}",
    intro=["The {name}, part number {id}, is a bicycle component made for road and touring bikes.",
           "Part {id} is the {name}, a bicycle component sold as a spare."],
    filler=["A clean, lightly oiled chain shifts more smoothly and wears the sprockets less.",
            "Torque wrenches prevent the cracked clamps that overtightened bolts cause on carbon frames.",
            "Cable housing should be cut square and its end capped so that shifting stays precise.",
            "Most bicycle threads are right-handed, except the left pedal and one side of some bottom brackets.",
            "Worn brake pads should be replaced before the metal backing touches the rim or rotor.",
            "Mechanics usually check wheel true and spoke tension whenever a tyre is changed.",
            "Grease on the threads keeps steel bolts from seizing in aluminium parts."],
    attrs=[
        dict(name="material", q="What is the {name} made of?", values={
            "carbon": dict(say=["{It} is moulded from carbon fibre to keep its weight low.", "The body of {it} is carbon fibre."],
                           plain="made of carbon fibre", para="featherweight woven composite"),
            "steel": dict(say=["{It} is forged from hardened steel for durability.", "{It} uses a hardened steel body that resists wear."],
                          plain="made of hardened steel", para="weighty ferrous construction that outlasts everything"),
            "alloy": dict(say=["{It} is machined from aluminium alloy.", "An aluminium alloy body keeps {it} light and cheap."],
                          plain="machined aluminium alloy", para="the silvery lightweight stuff of soda cans, milled")}),
        dict(name="fit", q="Which bikes does the {name} fit?", values={
            "road": dict(say=["{It} fits road bikes with eleven-speed drivetrains.", "It is designed for eleven-speed road bikes."],
                         plain="fits eleven-speed road bikes", para="suits racing two-wheelers on tarmac"),
            "mtb": dict(say=["{It} fits mountain bikes with wide tyres and long travel.", "It is meant for mountain bikes."],
                        plain="fits mountain bikes", para="suits rugged trail riding over rocks and roots"),
            "cargo": dict(say=["{It} fits cargo bikes and tandems that carry heavy loads.", "It was built for cargo bikes and heavy loads."],
                          plain="fits cargo bikes and heavy loads", para="suits family haulers")}),
        dict(name="service", q="How often does the {name} need servicing?", values={
            "sealed": dict(say=["Its sealed bearings need no maintenance for the life of the part.", "{It} is sealed and maintenance-free."],
                           plain="sealed and maintenance-free", para="zero upkeep for the whole lifespan, nothing to open"),
            "yearly": dict(say=["{It} should be stripped, cleaned and regreased once a year.", "A yearly service with fresh grease is recommended for {it}."],
                           plain="cleaned and regreased once a year", para="an annual overhaul and lubrication"),
            "monthly": dict(say=["{It} needs cleaning and oiling every month when ridden in wet weather.", "Monthly oiling keeps {it} working in the rain."],
                            plain="cleaned and oiled every month", para="lubricate it frequently in drizzly seasons")}),
    ])

topic(
    key="kitchen", noun="kitchen appliance", para_noun="culinary gadget", suffixes=["blender", "toaster", "kettle", "mixer", "rice cooker"],
    id_fmt="{L1}{d3}{L1b}",
    intro=["The {name} (model {id}) is a kitchen appliance for home cooks.",
           "Model {id}, sold as the {name}, is a countertop kitchen appliance."],
    filler=["Appliances with removable parts are far easier to keep clean.",
            "A kitchen circuit can trip when two high-power appliances run at once.",
            "Limescale builds up quickly in hard-water areas and shortens the life of heating elements.",
            "Manufacturers usually publish spare-part lists for five to seven years after a model is sold.",
            "Rubber feet keep countertop machines from walking across the worktop while they run.",
            "Energy labels compare the yearly electricity use of similar appliances."],
    attrs=[
        dict(name="power", q="How powerful is the {name}?", values={
            "high": dict(say=["{It} draws 1800 watts, among the most powerful in its class.", "With an 1800-watt motor, {it} is very powerful."],
                         plain="1800 watts, very powerful", para="extraordinarily mighty, guzzles current"),
            "low": dict(say=["{It} uses only 400 watts and is quiet in operation.", "A 400-watt motor makes {it} quiet and economical."],
                        plain="400 watts, quiet", para="sips current and hums softly"),
            "mid": dict(say=["{It} is rated at 900 watts.", "Its 900-watt element is average for the category."],
                        plain="rated at 900 watts", para="moderate wattage, typical for such gadgets")}),
        dict(name="cleaning", q="Is the {name} dishwasher safe?", values={
            "dishwasher": dict(say=["All removable parts of {it} are dishwasher safe.", "Its jug and lid go straight into the dishwasher."],
                               plain="dishwasher safe parts", para="the pieces survive the automatic plate washer"),
            "handwash": dict(say=["{It} must be washed by hand; the dishwasher damages its seals.", "Hand washing only: the seals of {it} crack in a dishwasher."],
                             plain="hand wash only", para="wipe manually with a sponge at the sink"),
            "selfclean": dict(say=["{It} has a self-cleaning cycle that rinses it with warm water.", "A self-cleaning programme means {it} rarely needs scrubbing."],
                              plain="self-cleaning cycle", para="tidies itself automatically at the push of a button")}),
        dict(name="warranty", q="How long is the warranty on the {name}?", values={
            "one": dict(say=["{It} comes with a one-year warranty.", "The warranty for {it} lasts one year."],
                        plain="one-year warranty", para="faults repaired free during the first twelvemonth"),
            "five": dict(say=["{It} carries a five-year warranty on the motor.", "Its motor is guaranteed for five years."],
                         plain="five-year warranty", para="covered for half a decade"),
            "life": dict(say=["{It} has a lifetime warranty for the original owner.", "The maker guarantees {it} for life."],
                         plain="lifetime warranty", para="the firm repairs it free forever")}),
    ])

topic(
    key="harbour", noun="harbour bylaw", para_noun="decree for a port", suffixes=["mooring rule", "anchorage rule", "quay rule", "slipway rule", "berth rule"],
    id_fmt="Bylaw {d3}-{d2}",
    intro=["{id}, known as the {name}, is part of the Fenwick Harbour bylaws.",
           "The {name} ({id}) is one of the harbour bylaws of Fenwick."],
    filler=["The harbour master may suspend any bylaw during storms or emergencies.",
            "Bylaws are reviewed by the harbour board every three years.",
            "Visiting boats must report to the harbour office within an hour of arrival.",
            "The harbour board publishes amendments in the local gazette before they take effect.",
            "Speed limits inside the breakwater protect moored boats from wash.",
            "Fishing vessels landing a catch have priority at the inner quay."],
    attrs=[
        dict(name="penalty", q="What is the penalty under the {name}?", values={
            "fine": dict(say=["Breaking {it} is punished with a fine of 200 pounds.", "A fine of 200 pounds applies to anyone who breaks {it}."],
                         plain="fine of 200 pounds", para="costs the culprit money"),
            "ban": dict(say=["Anyone who breaks {it} may be banned from the harbour for a season.", "Offenders under {it} can be barred from the harbour for a season."],
                        plain="banned from the harbour for a season", para="the culprit is kept out of the port for months"),
            "warning": dict(say=["A first breach of {it} results only in a written warning.", "{It} is enforced with written warnings."],
                            plain="written warning", para="just a reprimand letter")}),
        dict(name="applies", q="Who does the {name} apply to?", values={
            "commercial": dict(say=["{It} applies to commercial vessels over twelve metres.", "Only commercial vessels longer than twelve metres are bound by {it}."],
                               plain="commercial vessels over twelve metres", para="merchant ships out to make money, forty feet and up"),
            "leisure": dict(say=["{It} applies to leisure craft such as yachts and dinghies.", "Leisure craft, including yachts and dinghies, must follow {it}."],
                            plain="leisure craft, yachts and dinghies", para="people sailing for fun at the weekend"),
            "all": dict(say=["{It} applies to every vessel in the harbour, whatever its size.", "Every vessel, large or small, is bound by {it}."],
                        plain="every vessel whatever its size", para="covers anybody afloat, big ships and tiny skiffs")}),
        dict(name="subject", q="What does the {name} regulate?", values={
            "fuel": dict(say=["It regulates refuelling, which is allowed only at the fuel pontoon.", "Refuelling is permitted only at the fuel pontoon under {it}."],
                         plain="refuelling only at the fuel pontoon", para="topping up the diesel tank"),
            "noise": dict(say=["It forbids running engines and generators between ten at night and seven in the morning.", "Engines and generators must be silent from ten at night to seven in the morning."],
                          plain="no engines or generators at night", para="keeping things quiet while people sleep"),
            "waste": dict(say=["It forbids pumping sewage or bilge water into the harbour.", "No sewage or bilge water may be discharged into the harbour."],
                          plain="no sewage or bilge water discharge", para="dumping dirty liquids overboard")}),
    ])

topic(
    key="genes", noun="gene in the moss Tarnia", para_noun="hereditary factor of a bryophyte", suffixes=["gene"],
    id_fmt="{L3}{d2}",
    intro=["{id} is a gene of the model moss Tarnia; its product is called the {name} protein.",
           "The gene {id} of the moss Tarnia encodes the {name} protein."],
    filler=["Tarnia is used as a model plant because its haploid stage makes mutants easy to study.",
            "Knockout lines are made by homologous recombination, which works unusually well in moss.",
            "Gene expression is usually measured in protonema tissue grown on agar plates.",
            "Most Tarnia genes were named after the appearance of the first mutant that revealed them.",
            "Fluorescent tags show where in the cell a protein ends up.",
            "Many moss genes have close relatives in flowering plants, which makes the results transferable."],
    attrs=[
        dict(name="function", q="What does the {name} protein do?", values={
            "drought": dict(say=["Its protein helps the moss survive drought by closing water channels.", "The protein protects cells against drying out."],
                            plain="drought survival, water channels", para="tolerance of rainless spells"),
            "light": dict(say=["Its protein senses blue light and steers growth towards it.", "The protein is a blue light receptor that guides growth."],
                          plain="blue light receptor, growth towards light", para="lets it lean sunward"),
            "cold": dict(say=["Its protein protects membranes from freezing damage.", "The protein keeps cell membranes intact during frost."],
                         plain="protects membranes from freezing", para="stops icy winters killing it")}),
        dict(name="location", q="Where in the cell is the {name} protein found?", values={
            "nucleus": dict(say=["The protein is found in the nucleus.", "Tagging shows the protein in the nucleus."],
                            plain="found in the nucleus", para="next to the DNA in the command centre"),
            "chloroplast": dict(say=["The protein is found in the chloroplast.", "Tagging places the protein inside chloroplasts."],
                                plain="found in the chloroplast", para="lives in the green organelles that capture sunlight"),
            "membrane": dict(say=["The protein sits in the plasma membrane.", "The protein is anchored in the plasma membrane."],
                             plain="located in the plasma membrane", para="lodged in the outer lipid envelope")}),
        dict(name="mutant", q="What happens when the {name} gene is knocked out?", values={
            "dwarf": dict(say=["Knockout mutants are dwarfs with short, stunted shoots.", "Without the gene, plants stay dwarf and stunted."],
                          plain="knockout mutants are dwarf and stunted", para="disabling it yields tiny specimens that never get tall"),
            "pale": dict(say=["Knockout mutants are pale yellow and grow slowly.", "Mutant plants lacking the gene are pale yellow."],
                         plain="knockout mutants are pale yellow", para="minus this, specimens lose their green colour"),
            "normal": dict(say=["Knockout mutants look normal under lab conditions.", "Plants lacking the gene look normal in the lab."],
                           plain="knockout mutants look normal", para="deleting it changes nothing visible")}),
    ])

topic(
    key="bridges", noun="bridge", para_noun="viaduct or overpass", suffixes=["Bridge"], name_first=True,
    id_fmt="{year}",
    intro=["The {name} was completed in {id} and crosses the river Ness at Aldwick.",
           "Opened in {id}, the {name} spans the river Ness near Aldwick."],
    filler=["The Ness floods most winters, which is why its bridges stand on tall piers.",
            "Aldwick grew from a ferry crossing into a market town once the first bridges were built.",
            "Bridge inspections take place every six years and record cracks, scour and corrosion.",
            "Some of the older crossings are listed structures and cannot be altered without consent.",
            "Tolls paid for several bridges until the county took them over.",
            "The river is navigable by barges up to the weir below the town."],
    attrs=[
        dict(name="type", q="What kind of bridge is the {name}?", values={
            "stone": dict(say=["It is a stone arch bridge with five arches.", "{It} is built of stone as a five-arch bridge."],
                          plain="stone arch bridge with five arches", para="a row of vaulted masonry curves"),
            "suspension": dict(say=["It is a suspension bridge hung from two towers.", "{It} is a suspension bridge with steel cables."],
                               plain="suspension bridge with cables", para="the deck dangles on wires strung between pylons"),
            "iron": dict(say=["It is a cast iron girder bridge.", "{It} was built with cast iron girders."],
                         plain="cast iron girder bridge", para="a metal beam design of the industrial age")}),
        dict(name="traffic", q="What traffic uses the {name}?", values={
            "foot": dict(say=["It is closed to motor traffic and carries only pedestrians and cyclists.", "Only pedestrians and cyclists may use it."],
                         plain="pedestrians and cyclists only", para="cars banned, just walkers and bikes"),
            "rail": dict(say=["It carries the railway line to the coast.", "Trains to the coast run over it."],
                         plain="carries the railway", para="locomotives and carriages rumble atop it"),
            "road": dict(say=["It carries the main road and heavy lorries.", "The main road and lorries run across it."],
                         plain="carries the main road and lorries", para="motorists and haulage trucks")}),
        dict(name="state", q="What condition is the {name} in?", values={
            "restored": dict(say=["It was fully restored after the last inspection.", "A full restoration was completed recently."],
                             plain="fully restored", para="freshly repaired, looking brand new"),
            "weight": dict(say=["A weight limit of seven tonnes was imposed after cracks appeared.", "Cracks led to a seven-tonne weight limit."],
                           plain="seven-tonne weight limit after cracks", para="big trucks now barred because it is damaged"),
            "listed": dict(say=["It is a listed structure of historic importance.", "The bridge is listed as a historic monument."],
                           plain="listed historic structure", para="protected by law, a heritage landmark")}),
    ])

topic(
    key="lighthouses", noun="lighthouse", para_noun="coastal beacon", suffixes=["Light", "Point Light", "Head Lighthouse"], name_first=True,
    id_fmt="{year}",
    intro=["The {name} was first lit in {id} on the Corrin coast.",
           "First lit in {id}, the {name} guards a stretch of the Corrin coast."],
    filler=["Each lighthouse has its own pattern of flashes so that sailors can tell them apart at night.",
            "Fresnel lenses concentrate a small lamp into a beam visible many miles out to sea.",
            "The keepers' cottages have mostly been sold or turned into holiday lets.",
            "Fog signals were once sounded by compressed air horns.",
            "Salt spray corrodes lantern rooms, which must be repainted every few years.",
            "Automatic lamps are now monitored from a control centre on the mainland."],
    attrs=[
        dict(name="keeper", q="Is the {name} still staffed?", values={
            "automated": dict(say=["It was automated and no longer has a keeper.", "The light is automatic; the last keeper left long ago."],
                              plain="automated, no keeper", para="unmanned, operating itself"),
            "museum": dict(say=["It is now a museum open to visitors in summer.", "Visitors can tour it as a museum in summer."],
                           plain="museum open in summer", para="tourists climb up and look around"),
            "dark": dict(say=["It was decommissioned and its lamp is dark.", "The lamp has been switched off for good."],
                         plain="decommissioned, lamp dark", para="shines nothing anymore, retired")}),
        dict(name="colour", q="What colour is the {name}?", values={
            "striped": dict(say=["Its tower is painted with red and white stripes.", "Red and white stripes mark its tower."],
                            plain="red and white stripes", para="banded like a candy cane"),
            "white": dict(say=["Its tower is plain white.", "The tower is painted plain white."],
                          plain="plain white tower", para="entirely snow-coloured"),
            "black": dict(say=["Its tower is black with a white lantern.", "A black tower carries a white lantern."],
                          plain="black tower, white lantern", para="ebony shaft with a pale crown")}),
        dict(name="range", q="How far can the {name} be seen?", values={
            "far": dict(say=["Its beam is visible from 25 nautical miles.", "The beam reaches 25 nautical miles."],
                         plain="visible from 25 nautical miles", para="a powerful gleam noticed at a great distance"),
            "near": dict(say=["Its beam reaches only 8 nautical miles.", "The light is visible for 8 nautical miles."],
                         plain="visible for 8 nautical miles", para="a feeble gleam, helpful just close to shore"),
            "mid": dict(say=["Its beam is visible from 15 nautical miles.", "The light can be seen 15 nautical miles away."],
                        plain="visible from 15 nautical miles", para="noticeable a middling distance offshore")}),
    ])

topic(
    key="errors", noun="error code of the Quillon database", para_noun="software fault notice", suffixes=["error"],
    id_fmt="ERR-{d4}",
    intro=["{id}, the {name}, is raised by the Quillon database server.",
           "The Quillon database reports {id} (the {name})."],
    filler=["Quillon writes every error to its server log with a timestamp and the session id.",
            "Errors in the 1000 to 9999 range are server-side; client libraries use their own codes.",
            "Retrying blindly can make a struggling server worse, so back off between attempts.",
            "The administration console lists the errors of the last 24 hours by frequency.",
            "Most errors are logged with the query text, which helps reproduce them.",
            "Upgrading the client library fixes many errors caused by protocol mismatches."],
    attrs=[
        dict(name="cause", q="What causes the {name}?", values={
            "disk": dict(say=["It occurs when the disk holding the data files is full.", "The cause is a full disk under the data directory."],
                         plain="disk holding data files is full", para="storage space is exhausted"),
            "lock": dict(say=["It occurs when two transactions wait for each other's locks, a deadlock.", "A deadlock between two transactions causes it."],
                         plain="deadlock between transactions", para="a pair of jobs stalled, mutually blocking"),
            "auth": dict(say=["It occurs when a client logs in with a wrong password.", "A wrong password at login causes it."],
                         plain="wrong password at login", para="someone typed a bad secret while signing in")}),
        dict(name="fix", q="How do you fix the {name}?", values={
            "retry": dict(say=["The usual fix is to retry the transaction after a short pause.", "Retrying the transaction after a pause usually fixes it."],
                          plain="retry the transaction after a pause", para="resubmit the job in a moment"),
            "restart": dict(say=["The fix is to restart the server after freeing resources.", "Restarting the server is required."],
                            plain="restart the server", para="reboot the machine"),
            "config": dict(say=["The fix is to change a setting in the configuration file.", "Editing the configuration file resolves it."],
                           plain="change the configuration file", para="adjust an option in the config")}),
        dict(name="severity", q="How serious is the {name}?", values={
            "fatal": dict(say=["It is fatal: the server stops accepting connections.", "The server stops accepting connections when it occurs."],
                          plain="fatal, server stops accepting connections", para="the host goes down and refuses everybody"),
            "warning": dict(say=["It is only a warning and the query still completes.", "The query completes; it is merely a warning."],
                            plain="warning, query still completes", para="harmless notice, work carries on"),
            "session": dict(say=["It ends the client session but leaves the server running.", "Only the client session is closed."],
                            plain="ends the client session", para="boots that user while everybody else carries on")}),
    ])

topic(
    key="railway", noun="railway line", para_noun="passenger itinerary", suffixes=["Line", "Branch"], name_first=True,
    id_fmt="Line {d3}",
    intro=["The {name} is numbered {id} in the Westmarch timetable.",
           "{id}, the {name}, is a railway line in Westmarch."],
    filler=["Westmarch publishes a new timetable every December.",
            "Season tickets cost less per journey than daily returns for regular commuters.",
            "Engineering works usually close lines on Sunday mornings.",
            "Most stations have step-free access to at least one platform.",
            "Bicycles travel free outside the morning and evening peaks.",
            "Delay repay compensation can be claimed for journeys more than fifteen minutes late."],
    attrs=[
        dict(name="power", q="How are trains on the {name} powered?", values={
            "electric": dict(say=["It is electrified with overhead wires.", "Trains on it run under overhead electric wires."],
                             plain="electrified, overhead wires", para="powered through cables above the track"),
            "diesel": dict(say=["Its trains are diesel units because it was never electrified.", "Only diesel trains run on it."],
                           plain="diesel trains", para="the motors burn oil and belch fumes"),
            "steam": dict(say=["It is a heritage line worked by steam locomotives.", "Steam locomotives work it as a heritage railway."],
                          plain="heritage steam locomotives", para="vintage coal-fired puffers for tourists")}),
        dict(name="frequency", q="How often do trains run on the {name}?", values={
            "frequent": dict(say=["Trains run every ten minutes all day.", "Services run every ten minutes."],
                             plain="every ten minutes", para="departures so often nobody waits"),
            "hourly": dict(say=["Trains run once an hour.", "There is an hourly service."],
                           plain="once an hour", para="departures sixty apart"),
            "weekend": dict(say=["Trains run only at weekends in summer.", "Services operate on summer weekends only."],
                            plain="only weekends in summer", para="shut on weekdays and through the cold months")}),
        dict(name="terminus", q="Where does the {name} end?", values={
            "coast": dict(say=["It ends at a seaside terminus by the harbour.", "Its terminus is on the coast beside the harbour."],
                          plain="seaside terminus by the harbour", para="finishes next to the beach and boats"),
            "airport": dict(say=["It ends at the airport terminal.", "The line terminates at the airport."],
                            plain="ends at the airport", para="finishes at the planes' departure hall"),
            "mine": dict(say=["It ends at an old quarry now used as a museum.", "The terminus is a former quarry, now a museum."],
                         plain="old quarry museum", para="finishes where masons dug their stone in bygone days")}),
    ])

topic(
    key="cheese", noun="cheese", para_noun="wedge for the platter", suffixes=["cheese", "blue", "curd"],
    id_fmt="CH-{d4}",
    intro=["{name} (registry {id}) is a farmhouse cheese from the Marl valley.",
           "Registered as {id}, {name} is a cheese made in the Marl valley."],
    filler=["Cheeses from the Marl valley are made in small dairies from the milk of local herds.",
            "Rinds are brushed or washed by hand during ripening.",
            "Cheese should be wrapped in waxed paper rather than plastic so it can breathe.",
            "Serving cheese at room temperature brings out its flavour.",
            "Raw-milk cheeses must be ripened for at least sixty days before sale in some countries.",
            "The valley's cheese fair takes place every October."],
    attrs=[
        dict(name="milk", q="What milk is {name} made from?", values={
            "goat": dict(say=["It is made from goat's milk.", "Goat's milk is used to make it."],
                         plain="made from goat's milk", para="nanny animals with horns and beards supply it"),
            "sheep": dict(say=["It is made from sheep's milk.", "The cheese uses sheep's milk."],
                          plain="made from sheep's milk", para="ewes grazing the hills supply it"),
            "cow": dict(say=["It is made from cow's milk.", "Cow's milk from local herds is used."],
                        plain="made from cow's milk", para="cattle that moo in the meadow supply it")}),
        dict(name="age", q="How long is {name} aged?", values={
            "fresh": dict(say=["It is eaten fresh, within a week of making.", "It is sold fresh and eaten within a week."],
                          plain="eaten fresh within a week", para="unaged, enjoyed just curdled"),
            "year": dict(say=["It is aged for a full year in cellars.", "A year of ageing in cellars gives it a hard texture."],
                         plain="aged for a year in cellars", para="rests underground a whole twelvemonth"),
            "months": dict(say=["It is aged for three months.", "Three months of ageing give it a soft rind."],
                           plain="aged three months", para="kept a quarter of a twelvemonth to mature")}),
        dict(name="taste", q="What does {name} taste like?", values={
            "nutty": dict(say=["Its flavour is nutty and sweet.", "It tastes nutty with a sweet finish."],
                          plain="nutty and sweet", para="reminds you of hazelnuts and caramel"),
            "sharp": dict(say=["Its flavour is sharp and salty.", "It tastes sharp and salty."],
                          plain="sharp and salty", para="pungent and briny"),
            "creamy": dict(say=["Its flavour is mild and creamy.", "It tastes mild and creamy."],
                           plain="mild and creamy", para="gentle, buttery and smooth")}),
    ])

topic(
    key="birds", noun="bird of the Orvel marshes", para_noun="wetland species on the wing", suffixes=["warbler", "rail", "heron", "plover", "finch"],
    id_fmt="ring series {L2}{d3}",
    intro=["The {name} is a marsh bird; birds caught at Orvel carry {id}.",
           "Ringers at Orvel mark the {name} with {id}."],
    filler=["The Orvel marshes are flooded every winter and drained slowly in spring.",
            "Ringing records show individual birds returning to the same reed bed for years.",
            "Reed beds need cutting in rotation so that some old reed is always standing.",
            "Counts are made at high tide, when waders gather on the few dry banks.",
            "Dawn is the best time to hear marsh birds singing.",
            "Visitors are asked to keep to the boardwalks during the nesting season."],
    attrs=[
        dict(name="diet", q="What does the {name} eat?", values={
            "insects": dict(say=["It feeds on insects caught among the reeds.", "Insects taken from reed stems make up its diet."],
                            plain="feeds on insects in the reeds", para="gobbles beetles, gnats and flies"),
            "fish": dict(say=["It feeds on small fish in shallow water.", "Small fish from the shallows are its main food."],
                         plain="feeds on small fish", para="catches minnows by wading"),
            "seeds": dict(say=["It feeds on seeds of marsh plants.", "Seeds of marsh plants form its diet."],
                          plain="feeds on seeds", para="cracks grains of grasses and sedges")}),
        dict(name="migration", q="Does the {name} migrate?", values={
            "resident": dict(say=["It is resident and stays all year.", "It does not migrate and stays all year."],
                             plain="resident all year", para="sedentary homebody, never going away"),
            "summer": dict(say=["It is a summer visitor that winters in Africa.", "It arrives in spring and winters in Africa."],
                           plain="summer visitor, winters in Africa", para="flies south across the Sahara in autumn"),
            "winter": dict(say=["It is a winter visitor from the Arctic.", "It arrives from the Arctic for the winter."],
                           plain="winter visitor from the Arctic", para="a frosty-weather guest escaping polar lands")}),
        dict(name="status", q="How common is the {name}?", values={
            "rare": dict(say=["It is rare, with fewer than twenty pairs.", "Fewer than twenty pairs breed, making it rare."],
                         plain="rare, fewer than twenty pairs", para="very scarce, barely a handful of couples"),
            "common": dict(say=["It is common and easy to see.", "It is a common and easily seen bird."],
                           plain="common and easy to see", para="abundant, plenty spotted on any outing"),
            "declining": dict(say=["Its numbers are declining as reed beds dry out.", "It is declining because reed beds are drying."],
                              plain="declining as reed beds dry out", para="dwindling as marshland vanishes")}),
    ])

topic(
    key="medicines", noun="medicine", para_noun="remedy at the chemist", suffixes=["tablets", "syrup", "capsules", "cream"],
    id_fmt="RX-{d5}",
    intro=["{name} (product code {id}) is a medicine sold in the fictional country of Orlandia.",
           "Product {id}, {name}, is a medicine listed in the Orlandian formulary."],
    filler=["Always read the leaflet in the pack before taking a medicine.",
            "Pharmacists can check whether two medicines interact.",
            "Expired medicines should be returned to a pharmacy, not thrown in household waste.",
            "Children's doses are usually calculated from body weight.",
            "Storing medicines in a warm, damp bathroom can shorten their shelf life.",
            "Side effects should be reported to the medicines agency."],
    attrs=[
        dict(name="use", q="What is {name} used for?", values={
            "pain": dict(say=["It relieves headache and muscle pain.", "It is used for headache and muscle pain."],
                         plain="relieves headache and muscle pain", para="eases aches in the head and limbs"),
            "allergy": dict(say=["It treats hay fever and other allergies.", "It is used against hay fever and allergies."],
                            plain="treats hay fever and allergies", para="stops sneezing and itchy eyes in pollen season"),
            "cough": dict(say=["It calms a dry cough.", "It is used for a dry, tickly cough."],
                          plain="calms a dry cough", para="soothes a scratchy, hacking throat")}),
        dict(name="drowsy", q="Does {name} cause drowsiness?", values={
            "drowsy": dict(say=["It causes drowsiness, so you should not drive after taking it.", "Drowsiness is common; do not drive after taking it."],
                           plain="causes drowsiness, do not drive", para="brings on sleepiness, keep off the road"),
            "alert": dict(say=["It does not cause drowsiness.", "It is non-drowsy."],
                          plain="non-drowsy", para="leaves a person awake and sharp"),
            "alcohol": dict(say=["It must not be combined with alcohol.", "Alcohol must be avoided while taking it."],
                            plain="must not be combined with alcohol", para="no wine or beer during the course")}),
        dict(name="dose", q="How often is {name} taken?", values={
            "once": dict(say=["It is taken once a day.", "One dose a day is enough."],
                         plain="taken once a day", para="a single helping daily"),
            "four": dict(say=["It is taken up to four times a day.", "Up to four doses a day may be taken."],
                         plain="up to four times a day", para="swallowed repeatedly between breakfast and bedtime"),
            "needed": dict(say=["It is taken only when needed.", "Doses are taken only when needed."],
                           plain="taken only when needed", para="swallowed as required, no routine")}),
    ])

topic(
    key="volcanoes", noun="volcano", para_noun="fire-breathing crag", suffixes=["volcano", "cone", "caldera"],
    id_fmt="{year}",
    intro=["The {name} last erupted in {id}.",
           "Its last eruption was in {id}: the {name} is one of the volcanoes of the Harth islands."],
    filler=["The Harth islands sit on a hot spot under the ocean floor.",
            "Seismometers record swarms of small earthquakes before most eruptions.",
            "Volcanic soils are fertile, which is why farms climb high up the slopes.",
            "Gas measurements from drones warn of rising magma.",
            "Ash clouds can close airports hundreds of kilometres away.",
            "Hazard maps show which villages lie in the path of past lava flows."],
    attrs=[
        dict(name="type", q="What type of volcano is the {name}?", values={
            "shield": dict(say=["It is a shield volcano with gentle slopes built by runny lava.", "Runny lava built it into a shield volcano with gentle slopes."],
                           plain="shield volcano with gentle slopes", para="broad and low like a warrior's buckler"),
            "strato": dict(say=["It is a steep stratovolcano made of layers of ash and lava.", "Layers of ash and lava form its steep stratovolcano cone."],
                           plain="steep stratovolcano", para="a tall pointed peak of stacked deposits"),
            "caldera": dict(say=["It is a collapsed caldera holding a crater lake.", "A crater lake fills its collapsed caldera."],
                            plain="collapsed caldera with crater lake", para="a sunken basin now brimming with water")}),
        dict(name="activity", q="Is the {name} still active?", values={
            "active": dict(say=["It is active and closely monitored.", "Scientists monitor it closely because it is active."],
                           plain="active and monitored", para="restless and rumbling, watched round the clock"),
            "dormant": dict(say=["It is dormant but could erupt again.", "It is considered dormant."],
                            plain="dormant", para="sleeping, though not dead, and might wake"),
            "extinct": dict(say=["It is extinct and will not erupt again.", "It is considered extinct."],
                            plain="extinct", para="dead and burned out forever")}),
        dict(name="hazard", q="What is the main hazard of the {name}?", values={
            "lava": dict(say=["Its main hazard is slow lava flows that destroy roads.", "Slow lava flows that cut roads are the main hazard."],
                         plain="lava flows destroy roads", para="molten rock creeping over the highways"),
            "ash": dict(say=["Its main hazard is ash fall that ruins crops.", "Ash fall on crops is the main danger."],
                        plain="ash fall ruins crops", para="grey cinders smothering harvests"),
            "mudflow": dict(say=["Its main hazard is mudflows after heavy rain.", "Mudflows after heavy rain are the main danger."],
                            plain="mudflows after heavy rain", para="rivers of sludge once storms soak the hillsides")}),
    ])

topic(
    key="boardgames", noun="board game", para_noun="tabletop pastime", suffixes=["", ""], bare=True,
    id_fmt="SKU {d6}",
    intro=["{name} ({id}) is a board game published by Hollin Games.",
           "Sold as {id}, {name} is a board game from Hollin Games."],
    filler=["Hollin Games tests each design with dozens of groups before release.",
            "Sleeving cards protects them from wear when a game is played often.",
            "Many groups house-rule the setup to shorten the first game.",
            "Expansions usually add new scenarios rather than changing the core rules.",
            "Reviewers rate games on replay value as well as on the first play.",
            "Game cafes lend copies so players can try before they buy."],
    attrs=[
        dict(name="players", q="How many players does {name} take?", values={
            "solo": dict(say=["It is played solo by one player.", "It is a game for one player, played solo."],
                         plain="played solo by one player", para="enjoyed alone, nobody else needed"),
            "two": dict(say=["It is played by exactly two players.", "It is a game for exactly two players."],
                        plain="exactly two players", para="a duel between a pair of opponents"),
            "party": dict(say=["It is played by six to ten players.", "Six to ten players take part."],
                          plain="six to ten players", para="for big crowds of friends, seven or eight at once")}),
        dict(name="mechanic", q="How does {name} play?", values={
            "coop": dict(say=["It is cooperative: all players win or lose together.", "Players cooperate and win or lose together."],
                         plain="cooperative, win or lose together", para="the team triumphs or fails as a unit"),
            "bluff": dict(say=["It is a bluffing game of hidden roles.", "Hidden roles and bluffing drive it."],
                          plain="bluffing with hidden roles", para="lying to the table over secret identities"),
            "engine": dict(say=["It is an engine-building game of cards that combo together.", "Players build an engine of cards that combo."],
                           plain="engine-building cards", para="assembling pieces that mutually power up")}),
        dict(name="length", q="How long does a game of {name} take?", values={
            "short": dict(say=["A game lasts about fifteen minutes.", "Games take fifteen minutes."],
                          plain="fifteen minutes", para="lightning-quick, done while the tea is still hot"),
            "long": dict(say=["A game lasts three to four hours.", "Games take three to four hours."],
                         plain="three to four hours", para="a lengthy marathon session"),
            "hour": dict(say=["A game lasts about an hour.", "Games take about an hour."],
                         plain="about an hour", para="the length of a lunch break")}),
    ])

topic(
    key="coffee", noun="coffee", para_noun="mug of joe", suffixes=["coffee", "espresso blend", "roast"],
    id_fmt="lot {d4}-{L1}",
    intro=["{name} ({id}) is a coffee sold by the Brannock roastery.",
           "The Brannock roastery sells {name} as {id}."],
    filler=["Coffee tastes best within a month of roasting.",
            "Beans should be ground just before brewing.",
            "Water just off the boil extracts coffee without burning it.",
            "The roastery publishes the farm and harvest date of every lot.",
            "Airtight tins keep beans fresh longer than open bags.",
            "A burr grinder gives a more even grind than a blade grinder."],
    attrs=[
        dict(name="roast", q="How dark is {name} roasted?", values={
            "light": dict(say=["It is a light roast that keeps fruity acidity.", "The beans are roasted light to keep their acidity."],
                          plain="light roast, fruity acidity", para="barely browned, zesty and tangy"),
            "dark": dict(say=["It is a dark roast with smoky bitterness.", "The beans are roasted dark for a smoky, bitter cup."],
                         plain="dark roast, smoky and bitter", para="almost black, with a charcoal bite"),
            "medium": dict(say=["It is a medium roast, balanced and round.", "A medium roast gives a balanced cup."],
                           plain="medium roast, balanced", para="moderately toasted, harmonious")}),
        dict(name="origin", q="Where does {name} come from?", values={
            "highland": dict(say=["The beans grow on highland farms above 1800 metres.", "It comes from highland farms above 1800 metres."],
                             plain="highland farms above 1800 metres", para="picked high up in the mountains"),
            "coop": dict(say=["The beans come from a smallholder cooperative.", "A cooperative of smallholders grows the beans."],
                         plain="smallholder cooperative", para="a co-op of small growers"),
            "estate": dict(say=["The beans come from a single estate.", "All beans come from one estate."],
                           plain="single estate", para="a lone plantation's crop, unblended")}),
        dict(name="brew", q="How should {name} be brewed?", values={
            "espresso": dict(say=["It is best brewed as espresso.", "Espresso brings out the best in it."],
                             plain="best as espresso", para="ideal for a strong, short shot pulled by a pressure machine"),
            "filter": dict(say=["It is best brewed as filter coffee.", "Filter brewing suits it best."],
                           plain="best as filter coffee", para="poured slowly over a paper cone, drip style"),
            "cold": dict(say=["It is best as cold brew.", "It makes an excellent cold brew."],
                         plain="best as cold brew", para="steeped overnight in the fridge")}),
    ])

topic(
    key="dinghies", noun="sailing dinghy class", para_noun="small sailboat type", suffixes=["dinghy", "skiff"],
    id_fmt="sail number {L2} {d4}",
    intro=["The {name} is a sailing dinghy class; the class prototype carries {id}.",
           "The prototype of the {name}, a sailing dinghy class, carried {id}."],
    filler=["Dinghy sailors must wear buoyancy aids whenever they are afloat.",
            "Class rules fix the hull shape so that races test the sailors, not the boats.",
            "Capsize drills are part of every beginner course.",
            "Most clubs race on Sunday mornings from spring to autumn.",
            "Rigging a dinghy takes a few minutes once the steps are learnt.",
            "Sail numbers identify each boat in the results."],
    attrs=[
        dict(name="crew", q="How many crew sail the {name}?", values={
            "single": dict(say=["It is sailed single-handed.", "One person sails it single-handed."],
                           plain="sailed single-handed", para="a lone skipper handles everything"),
            "double": dict(say=["It is sailed by a crew of two, helm and crew.", "A helm and a crew of two sail it."],
                           plain="crew of two, helm and crew", para="a pair shares steering and ropes"),
            "three": dict(say=["It is sailed by a crew of three.", "Three people crew it."],
                          plain="crew of three", para="handled by a trio")}),
        dict(name="rig", q="What rig does the {name} have?", values={
            "spinnaker": dict(say=["It flies a spinnaker downwind.", "A spinnaker is flown downwind."],
                              plain="flies a spinnaker", para="hoists a big billowing balloon when running before the wind"),
            "trapeze": dict(say=["Its crew hangs out on a trapeze wire.", "It has a trapeze for the crew."],
                            plain="trapeze wire", para="someone dangles outboard on a cable"),
            "una": dict(say=["It has a single sail and no jib.", "There is one sail and no jib."],
                        plain="single sail, no jib", para="just a lone piece of canvas, nothing up front")}),
        dict(name="use", q="Who sails the {name}?", values={
            "youth": dict(say=["It is the usual boat for youth training.", "Clubs use it for youth training."],
                          plain="youth training", para="where kids get their first lessons on the water"),
            "racing": dict(say=["It is raced at national championships.", "It has a national championship."],
                           plain="national championships racing", para="serious competition for trophies"),
            "cruise": dict(say=["It is used for family day cruising.", "Families use it for day cruising."],
                           plain="family day cruising", para="relaxed outings with parents and children")}),
    ])

topic(
    key="minerals", noun="mineral", para_noun="rock for a geologist's shelf", suffixes=["ite"], glue=True,
    id_fmt="MIN-{d4}",
    intro=["{name} is a mineral; the reference specimen in the Garrow museum is {id}.",
           "The Garrow museum keeps the reference specimen of {name} as {id}."],
    filler=["Minerals are identified by hardness, lustre, streak and crystal shape.",
            "The Mohs scale ranks hardness from talc at one to diamond at ten.",
            "Streak colour is tested by rubbing the mineral on unglazed porcelain.",
            "Some minerals glow under ultraviolet light.",
            "Museum specimens are kept in dry cabinets to avoid tarnish.",
            "Collectors must not hammer specimens out of protected sites."],
    attrs=[
        dict(name="hardness", q="How hard is {name}?", values={
            "soft": dict(say=["It is soft, hardness 2, and scratches with a fingernail.", "A fingernail scratches it; its hardness is 2."],
                         plain="soft, scratched by a fingernail", para="so tender your nail marks it"),
            "hard": dict(say=["It is very hard, hardness 8, and scratches glass.", "With hardness 8 it scratches glass."],
                         plain="very hard, scratches glass", para="cuts a windowpane easily, extremely tough"),
            "medium": dict(say=["It has hardness 5 and is scratched by a steel knife.", "A steel knife scratches it; hardness 5."],
                           plain="hardness 5, scratched by a steel knife", para="middling toughness, a pocketknife marks it")}),
        dict(name="colour", q="What colour is {name}?", values={
            "green": dict(say=["It forms green crystals.", "Its crystals are green."],
                          plain="green crystals", para="the shade of fresh grass"),
            "purple": dict(say=["It forms purple crystals.", "Its crystals are purple."],
                           plain="purple crystals", para="the hue of violets"),
            "clear": dict(say=["It forms clear, colourless crystals.", "Its crystals are colourless and clear."],
                          plain="clear colourless crystals", para="transparent like a windowpane, no tint")}),
        dict(name="glow", q="Does {name} glow under ultraviolet light?", values={
            "glows": dict(say=["It glows orange under ultraviolet light.", "Under ultraviolet light it glows orange."],
                          plain="glows orange under ultraviolet", para="shines when the black lamp is switched on"),
            "magnetic": dict(say=["It is magnetic and attracts iron filings.", "It attracts iron filings."],
                             plain="magnetic, attracts iron", para="a compass needle swings towards it"),
            "dissolves": dict(say=["It dissolves in water and tastes salty.", "It dissolves in water."],
                              plain="dissolves in water", para="vanishes if left soaking in a tumbler")}),
    ])

topic(
    key="bread", noun="bread recipe", para_noun="formula for amateur bakers", suffixes=["loaf", "bread", "rolls"],
    id_fmt="recipe card B-{d3}",
    intro=["The {name} is {id} in the Kettering bakery school collection.",
           "The Kettering bakery school files the {name} as {id}."],
    filler=["Weighing flour gives more reliable bread than measuring it in cups.",
            "Kneading develops gluten, the stretchy network that traps gas.",
            "A loaf is done when it sounds hollow when tapped underneath.",
            "Bread should cool on a rack before slicing so the crumb sets.",
            "Steam in the first minutes of baking helps the crust expand.",
            "Salt slows yeast and strengthens dough."],
    attrs=[
        dict(name="leaven", q="How is the {name} leavened?", values={
            "sourdough": dict(say=["It is leavened with a sourdough starter.", "A sourdough starter raises it."],
                              plain="sourdough starter", para="a bubbling jar of wild microbes, fed for ages"),
            "yeast": dict(say=["It is leavened with dried yeast.", "Dried yeast raises it."],
                          plain="dried yeast", para="lifted with instant granules from a sachet"),
            "soda": dict(say=["It is leavened with baking soda and buttermilk.", "Baking soda and buttermilk raise it."],
                         plain="baking soda and buttermilk", para="puffed up chemically with bicarbonate")}),
        dict(name="rise", q="How long does the {name} rise?", values={
            "overnight": dict(say=["The dough rises overnight in the fridge.", "It rises slowly overnight in the fridge."],
                              plain="rises overnight in the fridge", para="proves in the cold till breakfast"),
            "none": dict(say=["It needs no rising time and goes straight into the oven.", "It goes straight into the oven without rising."],
                         plain="no rising time", para="mixed and instantly onto the heat, zero proving"),
            "two": dict(say=["The dough rises for two hours at room temperature.", "It rises for two hours at room temperature."],
                        plain="rises two hours at room temperature", para="proving on the counter half the afternoon")}),
        dict(name="oven", q="How hot is the oven for the {name}?", values={
            "hot": dict(say=["It bakes at 250 degrees in a covered pot.", "A covered pot at 250 degrees bakes it."],
                        plain="250 degrees covered pot", para="extremely fierce heat in a lidded casserole"),
            "moderate": dict(say=["It bakes at 180 degrees in a tin.", "A tin at 180 degrees bakes it."],
                             plain="180 degrees in a tin", para="moderate heat in an oblong pan"),
            "griddle": dict(say=["It is cooked on a griddle, not in an oven.", "A griddle, not an oven, cooks it."],
                            plain="cooked on a griddle", para="stovetop-made on a hot plate")}),
    ])

topic(
    key="trails", noun="hiking trail", para_noun="ramble in the uplands", suffixes=["Trail", "Way", "Path"], name_first=True,
    id_fmt="waymark {d3}",
    intro=["The {name} is signposted with {id} in the Brack hills.",
           "Follow {id} for the {name}, a hiking trail in the Brack hills."],
    filler=["The Brack hills are crossed by old drove roads between the valleys.",
            "Weather on the tops can change within an hour, so carry a waterproof.",
            "Dogs must be kept on leads near grazing sheep.",
            "Paths are repaired by volunteers every summer.",
            "A map and compass are still worth carrying when phones lose signal.",
            "Parking at trailheads fills early on sunny weekends."],
    attrs=[
        dict(name="difficulty", q="How difficult is the {name}?", values={
            "easy": dict(say=["It is an easy, level walk suitable for wheelchairs.", "It is level and easy, suitable for wheelchairs."],
                         plain="easy level walk, wheelchairs", para="a flat, accessible stroll for buggies"),
            "hard": dict(say=["It is a strenuous climb with scrambling near the summit.", "The route is strenuous, with scrambling near the summit."],
                         plain="strenuous climb with scrambling", para="an exhausting ascent with hands on the rock"),
            "moderate": dict(say=["It is moderate, with a few steep sections.", "It has some steep sections but is moderate overall."],
                             plain="moderate with steep sections", para="mostly gentle, with occasional breathless uphill bits")}),
        dict(name="length", q="How long is the {name}?", values={
            "short": dict(say=["It is 3 kilometres long.", "The route is 3 kilometres long."],
                          plain="3 kilometres", para="a stroll under a couple of miles"),
            "long": dict(say=["It is 24 kilometres long and usually takes two days.", "Its 24 kilometres usually take two days."],
                         plain="24 kilometres, two days", para="a lengthy trek with an overnight camp"),
            "mid": dict(say=["It is 11 kilometres long.", "The route is 11 kilometres long."],
                        plain="11 kilometres", para="several miles, an afternoon on foot")}),
        dict(name="feature", q="What is special about the {name}?", values={
            "waterfall": dict(say=["It passes a tall waterfall.", "A tall waterfall lies along the route."],
                              plain="passes a waterfall", para="you hear cascading water tumbling down a cliff"),
            "ruins": dict(say=["It passes the ruins of a castle.", "Castle ruins lie along the route."],
                          plain="passes castle ruins", para="crumbling walls of a medieval fortress"),
            "view": dict(say=["It ends at a viewpoint over the sea.", "A viewpoint over the sea ends the route."],
                         plain="viewpoint over the sea", para="finishes with a panorama of the ocean")}),
    ])

topic(
    key="comets", noun="comet", para_noun="icy wanderer of the heavens", suffixes=["comet"], name_first=False,
    id_fmt="designation {d4}{L1}",
    intro=["Comet {name} has the designation {id}.",
           "Known by the designation {id}, comet {name} was found by amateur observers."],
    filler=["A comet's tail always points away from the Sun, pushed by the solar wind.",
            "Comets brighten as they approach the Sun and their ice turns to gas.",
            "Orbits are calculated from positions measured on several nights.",
            "Meteor showers happen when Earth crosses the dust left by a comet.",
            "The brightest comets can be seen without a telescope.",
            "Comet nuclei are dark, made of ice mixed with dust."],
    attrs=[
        dict(name="period", q="How often does comet {name} return?", values={
            "short": dict(say=["It returns every six years.", "Its orbit brings it back every six years."],
                          plain="returns every six years", para="reappears within a decade"),
            "long": dict(say=["It returns only every 3000 years.", "Its orbit takes 3000 years."],
                         plain="returns every 3000 years", para="reappears once in millennia"),
            "once": dict(say=["It will never return: its orbit is open.", "Its open orbit means it will never return."],
                         plain="never returns, open orbit", para="a passer-by that departs for good")}),
        dict(name="tail", q="What does the tail of comet {name} look like?", values={
            "ion": dict(say=["It shows a blue ion tail.", "Its tail is blue, made of ions."],
                        plain="blue ion tail", para="streams a bluish glow of charged particles"),
            "dust": dict(say=["It shows a broad yellow dust tail.", "Its tail is broad, yellow dust."],
                         plain="broad yellow dust tail", para="trails a wide golden fan"),
            "none": dict(say=["It shows no tail at all.", "It has no visible tail."],
                         plain="no tail", para="fuzzy dot lacking any streamer")}),
        dict(name="visibility", q="Could comet {name} be seen with the naked eye?", values={
            "naked": dict(say=["It was visible to the naked eye.", "People saw it with the naked eye."],
                          plain="visible to the naked eye", para="obvious to the unaided observer, no optics"),
            "telescope": dict(say=["It needed a large telescope to be seen.", "Only large telescopes could see it."],
                              plain="needed a large telescope", para="observatories alone picked it up"),
            "binoculars": dict(say=["It could be seen with binoculars.", "Binoculars were enough to see it."],
                               plain="seen with binoculars", para="a pair of field glasses revealed it")}),
    ])

topic(
    key="labour", noun="article of the Orlandian labour code", para_noun="statute for jobs", suffixes=["provision"],
    id_fmt="Article {d2}.{d3}",
    intro=["{id} of the Orlandian labour code is known as the {name}.",
           "The {name} is {id} of the Orlandian labour code."],
    filler=["The Orlandian labour code was consolidated into one text after decades of separate acts.",
            "Collective agreements may improve on the code but never go below it.",
            "Labour inspectors can visit workplaces without notice.",
            "Disputes go first to a conciliation office before any tribunal.",
            "Employers must display a summary of workers' rights at every site.",
            "Amendments take effect on the first day of the following year."],
    attrs=[
        dict(name="right", q="What right does the {name} give?", values={
            "leave": dict(say=["It gives every worker 25 days of paid holiday a year.", "Workers get 25 days of paid holiday a year under it."],
                          plain="25 days paid holiday", para="weeks off while wages keep arriving"),
            "notice": dict(say=["It requires two months' notice before dismissal.", "Dismissal needs two months' notice."],
                           plain="two months' notice before dismissal", para="warning well ahead of being sacked"),
            "breaks": dict(say=["It requires a thirty-minute break after six hours of work.", "A thirty-minute break is due after six hours."],
                           plain="thirty-minute break after six hours", para="a rest pause in lengthy stretches of toil")}),
        dict(name="who", q="Who is covered by the {name}?", values={
            "all": dict(say=["It covers all employees, including part-time staff.", "All employees, part-time included, are covered."],
                        plain="all employees including part-time", para="everyone on the payroll, however short their contract"),
            "young": dict(say=["It covers only workers under eighteen.", "Only workers under eighteen are covered."],
                          plain="workers under eighteen", para="teenagers with jobs"),
            "night": dict(say=["It covers night-shift workers.", "Night-shift workers are covered."],
                          plain="night-shift workers", para="people on duty while others sleep")}),
        dict(name="enforce", q="How is the {name} enforced?", values={
            "inspector": dict(say=["Labour inspectors enforce it with fines.", "Inspectors enforce it and may fine employers."],
                              plain="enforced by inspectors with fines", para="officials inspect firms and charge penalties"),
            "tribunal": dict(say=["Workers enforce it by claim at an employment tribunal.", "Claims go to an employment tribunal."],
                             plain="claim at an employment tribunal", para="you sue your boss in court"),
            "union": dict(say=["It is enforced through collective agreements with unions.", "Unions enforce it through collective agreements."],
                          plain="collective agreements with unions", para="trade associations bargain with bosses to make it stick")}),
    ])

topic(
    key="paintings", noun="painting in the Halloway gallery", para_noun="artwork on display", suffixes=["", ""], bare=True, title_case=True,
    id_fmt="accession {d4}.{d3}",
    intro=["{name} is a painting in the Halloway gallery, accession number {id}.",
           "The Halloway gallery lists {name} under {id}."],
    filler=["The Halloway gallery was founded with a bequest of a shipping family.",
            "Paintings are rotated so that light-sensitive works rest in storage.",
            "Conservators clean varnish layers with solvents tested on tiny patches.",
            "Audio guides describe each painting in six languages.",
            "The gallery lends works to other museums for major exhibitions.",
            "Photography without flash is allowed in most rooms."],
    attrs=[
        dict(name="subject", q="What does {name} show?", values={
            "sea": dict(say=["It shows a stormy sea with a sinking ship.", "A ship sinks in a stormy sea in it."],
                        plain="stormy sea with a sinking ship", para="a vessel going down in wild waves"),
            "portrait": dict(say=["It is a portrait of a merchant's daughter.", "It portrays a merchant's daughter."],
                             plain="portrait of a merchant's daughter", para="a likeness of a trader's young girl"),
            "still": dict(say=["It is a still life of fruit and flowers.", "It shows fruit and flowers in a still life."],
                          plain="still life of fruit and flowers", para="apples and blossoms arranged on a table")}),
        dict(name="medium", q="What is {name} painted with?", values={
            "oil": dict(say=["It is painted in oil on canvas.", "It is oil on canvas."],
                        plain="oil on canvas", para="pigment in linseed on woven fabric"),
            "water": dict(say=["It is a watercolour on paper.", "It is watercolour on paper."],
                          plain="watercolour on paper", para="thin washes on a sheet"),
            "tempera": dict(say=["It is egg tempera on a wooden panel.", "It is tempera on a wood panel."],
                            plain="egg tempera on wood panel", para="yolk-bound pigment on planks of timber")}),
        dict(name="history", q="How did {name} come to the gallery?", values={
            "stolen": dict(say=["It was stolen in a burglary and recovered years later.", "It was stolen once and later recovered."],
                           plain="stolen and recovered", para="thieves took it; it turned up again decades on"),
            "donated": dict(say=["It was donated by the artist's family.", "The artist's family donated it."],
                            plain="donated by the artist's family", para="gifted by the painter's relatives"),
            "bought": dict(say=["It was bought at auction for a record price.", "The gallery bought it at auction for a record price."],
                           plain="bought at auction for a record price", para="purchased for a sum never paid before")}),
    ])

topic(
    key="tea", noun="tea", para_noun="leaf infusion", suffixes=["tea", "oolong", "green tea"],
    id_fmt="estate grade TG-{d3}",
    intro=["{name} is sold as {id} by the Larchmont tea estates.",
           "The Larchmont tea estates grade {name} as {id}."],
    filler=["Tea leaves are plucked as two leaves and a bud for the finest grades.",
            "Oxidation darkens the leaves and deepens the flavour.",
            "Water temperature matters more for tea than most drinkers think.",
            "Loose leaves should be stored away from light and strong smells.",
            "Each estate tastes its teas daily to grade them.",
            "Tea bushes are pruned to waist height so pickers can reach the shoots."],
    attrs=[
        dict(name="caffeine", q="How much caffeine is in {name}?", values={
            "high": dict(say=["It is high in caffeine.", "It contains a lot of caffeine."],
                         plain="high in caffeine", para="wakes you up as an espresso would"),
            "low": dict(say=["It is low in caffeine.", "It contains little caffeine."],
                        plain="low in caffeine", para="gentle enough to drink before bed"),
            "none": dict(say=["It is caffeine-free because it is made from herbs.", "It contains no caffeine."],
                         plain="caffeine-free herbs", para="zero stimulant, a botanical blend")}),
        dict(name="steep", q="How should {name} be steeped?", values={
            "cool": dict(say=["Steep it at 70 degrees for two minutes.", "It should steep at 70 degrees for two minutes."],
                         plain="steep at 70 degrees two minutes", para="a quick, short brew, not too hot"),
            "boil": dict(say=["Steep it in boiling water for five minutes.", "It needs boiling water and five minutes."],
                         plain="boiling water five minutes", para="poured off a roaring kettle and left a while"),
            "milk": dict(say=["It is simmered with milk and spices.", "Simmer it in milk with spices."],
                         plain="simmered with milk and spices", para="cooked in a pan with dairy and cardamom")}),
        dict(name="flavour", q="What does {name} taste like?", values={
            "smoky": dict(say=["It tastes smoky, dried over pine fires.", "Drying over pine fires makes it smoky."],
                          plain="smoky, dried over pine fires", para="a campfire in a cup"),
            "floral": dict(say=["It tastes floral, like jasmine.", "It has a floral, jasmine-like taste."],
                           plain="floral like jasmine", para="perfumed as a garden of blossoms"),
            "malty": dict(say=["It tastes malty and strong.", "It is strong and malty."],
                          plain="malty and strong", para="malt-laden and robust")}),
    ])
