//! The interface's words in English and Chinese, checked at compile time: every key has both
//! (the `catalogue!` table below), and pages name keys, never literal strings. Numbers, money
//! and times are formatted here too, always with their unit, currency or zone.

pub use assistant::sessions::Language as Lang;

macro_rules! catalogue {
    ($($key:ident => $en:literal, $zh:literal;)*) => {
        /// A word or phrase of the interface.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $(#[doc = $en] $key),* }

        impl T {
            /// Every key.
            pub const ALL: &'static [T] = &[$(T::$key),*];

            /// The text in `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((T::$key, Lang::En) => $en, (T::$key, Lang::Zh) => $zh,)*
                }
            }
        }
    };
}

catalogue! {
    Research => "Research & risk", "研究与风险";
    ResearchHelp => "Market data (daily bars of futures, indices and ETFs) and the events found in it: every day a contract moves by its threshold (3% by default) is a move; risk events are opened by hand. Prices come from the imported files, never from a model.", "行情数据（期货、指数、ETF 的日K线）及由此发现的事件：合约单日涨跌幅达到阈值（默认 3%）即为异动事件；风险事件可手工创建。价格均来自导入的文件，从不由模型生成。";
    MarketData => "Market data", "行情数据";
    NoBarsYet => "No market data yet: import a file of daily bars.", "尚无行情数据：请导入日行情文件。";
    ImportBars => "Import daily bars", "导入日行情";
    BarsFile => "File (CSV or JSON: date, contract, open/high/low/close, settlement, volume, open interest)", "文件（CSV 或 JSON：日期、合约、开高低收、结算价、成交量、持仓量）";
    ContractIfNone => "Contract (when the file has no contract column)", "合约（文件无合约列时填写）";
    PriceUnit => "Unit of the prices (USD/bbl, CNY/t, points)", "价格单位（如 USD/bbl、CNY/t、点）";
    ImportAction => "Import", "导入";
    Imported => "Imported", "已导入";
    NewBars => "new bars", "根新K线";
    KnownBars => "already held", "根已存在";
    ContractCol => "Contract", "合约";
    FirstDay => "First day", "首日";
    LastDay => "Last day", "末日";
    BarsCol => "Bars", "K线数";
    Events => "Events", "事件";
    NoEvents => "No events yet.", "尚无事件。";
    EventMove => "move", "异动";
    EventRisk => "risk event", "风险事件";
    DateCol => "Date", "日期";
    WhatHappened => "What happened", "事件内容";
    OpenRiskEvent => "Open a risk event", "新建风险事件";
    Topic => "Topic", "主题";
    ProductsCsv => "Products or contracts (comma-separated)", "品种或合约（逗号分隔）";
    WindowFrom => "From", "起始日";
    WindowUntil => "Until", "截止日";
    OpenAction => "Open", "创建";
    PriceChart => "Prices around the event", "事件前后价格";
    PreviousCol => "Previous", "前值";
    ChangeCol => "Change", "涨跌幅";
    ThresholdCol => "Threshold", "阈值";
    BasisCol => "Compared", "比较价格";
    NoBarsInWindow => "No market data in this window.", "该时间窗口内无行情数据。";
    MissingWeekdays => "weekdays without data before it", "个工作日无数据（在此之前）";
    Compliance => "Compliance", "合规报告";
    ComplianceTitle => "Trade reporting: one trade, every regime", "交易报告：一笔交易，所有监管辖区";
    ComplianceHelp => "Paste a CDM ReportableEvent or TradeState (or an FpML message), or name a draft or an approved extraction. The rules are code and data, never the model: every value comes from the trade or from a rule whose reason is shown.", "粘贴 CDM ReportableEvent 或 TradeState（或 FpML 报文），或填写草稿编号、已审批的提取结果编号。报告规则由代码和数据实现，不使用模型：每个取值均来自交易数据，或来自显示了理由的规则默认值。";
    TradeDocument => "Trade (CDM JSON or FpML XML)", "交易（CDM JSON 或 FpML XML）";
    ReportingFacts => "Reporting facts (JSON, optional)", "报告事实（JSON，可选）";
    DraftId => "or a draft id", "或草稿编号";
    ExtractionId => "or an approved extraction (approval id)", "或已审批的提取结果（审批编号）";
    RegimesToCompare => "Regimes", "监管辖区";
    ApplicableRegimes => "those that apply", "适用的辖区";
    AllRegimes => "all regimes", "全部辖区";
    CompareReports => "Compare", "比较";
    ExampleTrade => "Example trade", "示例交易";
    LoadExample => "Load", "载入";
    RegimeCol => "Regime", "监管辖区";
    RoleCol => "Role", "角色";
    DeadlineCol => "Deadline", "报告时限";
    SourceCol => "Source", "依据";
    FieldCol => "Field", "字段";
    CdeCol => "Critical data element (CPMI-IOSCO · JR/T 0294.3)", "关键数据要素（CPMI-IOSCO · JR/T 0294.3）";
    Matrix => "Field by field", "逐字段比较";
    MatrixHelp => "Click a value for the provision that requires it. Colours: missing, different value, different format, only in some regimes.", "点击取值查看要求该字段的条款。颜色：缺失、取值不同、格式不同、仅部分辖区要求。";
    DifferencesThatMatter => "Differences that matter", "重要差异";
    MissingFacts => "What the trade lacks", "交易数据缺少的信息";
    NothingMissing => "Nothing is missing for these regimes.", "这些辖区所需信息齐全。";
    NotAsked => "not asked", "不要求";
    RuleDefault => "rule default", "规则默认值";
    MissingValue => "missing", "缺失";
    StatusSame => "same", "相同";
    StatusFormat => "different format", "格式不同";
    StatusValue => "different value", "取值不同";
    StatusOnlySome => "only in some regimes", "仅部分辖区";
    StatusMissing => "missing", "缺失";
    ExportCsv => "Export CSV", "导出 CSV";
    ExportXlsx => "Export Excel", "导出 Excel";
    ValidateReport => "Validate a report you already have", "校验已有报告";
    ReportFile => "Report (JSON or CSV)", "报告（JSON 或 CSV）";
    Validate => "Validate", "校验";
    ReportFindings => "Findings", "校验结果";
    NoReportFindings => "No findings: every field has the regime's format and agrees with the trade.", "无问题：所有字段格式正确，且与交易数据一致。";
    AskRules => "Ask about the rules", "规则问答";
    AskRulesHelp => "Answered from the provisions, the ESMA guidelines, JR/T 0294.3 and the laws in the knowledge base; every citation is a provision.", "依据条款、ESMA 指引、JR/T 0294.3 及知识库中的法律回答；每处引用均对应具体条款。";
    Provision => "Provision", "条款";
    RegulatoryText => "regulatory text", "监管原文";
    IsdaInterpretation => "ISDA working-group interpretation", "ISDA 工作组解释";
    FirmProvision => "the firm's own provision", "本公司条款";
    SharedCde => "shared CDE, as worded by", "共同关键数据要素，原文出自";
    CatalogueVersion => "Rule catalogue", "规则目录";
    RoleReportingParty => "reporting party", "报告方";
    RoleCounterpartyOnly => "counterparty only", "仅交易对手方";
    RoleRequested => "requested", "按要求生成";
    AppName => "Deskmate", "Deskmate 交易助手";
    SignIn => "Sign in", "登录";
    SignOut => "Sign out", "退出";
    UserName => "User name", "用户名";
    Password => "Password", "密码";
    SignInTitle => "Sign in to Deskmate", "登录 Deskmate";
    SignInHelp => "Ask an administrator for an account and a password.", "请向管理员申请账户和密码。";
    SessionEnded => "Your session has ended. Sign in again.", "会话已结束，请重新登录。";
    Home => "Home", "首页";
    Approvals => "Approvals", "审批";
    Blotter => "RFQ blotter", "询价簿";
    Admin => "Admin", "管理";
    Users => "Users", "用户";
    Sessions => "Sessions", "会话";
    AuditLog => "Audit log", "审计日志";
    Language => "Language", "语言";
    SignedInAs => "Signed in as", "当前用户";
    Role => "Role", "角色";
    WaitingForYou => "Waiting for you", "待您处理";
    PendingApprovals => "Pending approvals you may decide", "您可审批的待办";
    NothingWaiting => "Nothing is waiting for you.", "暂无待办事项。";
    Kind => "Kind", "类型";
    Count => "Count", "数量";
    RecentJobs => "Your recent jobs", "您最近的任务";
    NoJobs => "No jobs yet: drop signed confirmations (PDF, scans, DOCX) on the upload above, or run `deskmate extract FILE --submit`.", "暂无任务：请在上方上传已签署的确认书（PDF、扫描件、DOCX），或运行 `deskmate extract 文件 --submit`。";
    Job => "Job", "任务";
    State => "State", "状态";
    Progress => "Progress", "进度";
    Created => "Created", "创建时间";
    Title => "Title", "标题";
    Maker => "Maker", "发起人";
    RequiredRole => "Decided by", "审批角色";
    Expires => "Expires", "到期";
    Version => "Version", "版本";
    Classification => "Classification", "密级";
    FourEyes => "Four-eyes", "四眼原则";
    Yes => "Yes", "是";
    No => "No", "否";
    Pending => "Pending", "待审批";
    All => "All", "全部";
    Filter => "Filter", "筛选";
    NoApprovals => "No approval requests match. Quotes from the RFQ desk, confirmations from Operations, drafts from Drafting and rule-catalogue changes queue here.", "没有符合条件的审批请求。报价、运营上传的确认书、法务草稿和规则目录变更会在此排队。";
    Payload => "Payload", "内容";
    Versions => "Versions", "版本记录";
    Changes => "Changes", "变更";
    Field => "Field", "字段";
    Before => "Before", "修改前";
    After => "After", "修改后";
    Author => "Author", "作者";
    Note => "Note", "备注";
    Approve => "Approve", "批准";
    Reject => "Reject", "拒绝";
    Reason => "Reason", "原因";
    EditAndSave => "Save edit", "保存修改";
    EditPayload => "Edit the payload (JSON)", "修改内容（JSON）";
    Decision => "Decision", "决定";
    DecidedBy => "Decided by", "审批人";
    Delivery => "Delivery", "发送状态";
    Received => "Received", "收到时间";
    Client => "Client", "客户";
    Message => "Message", "消息";
    Status => "Status", "状态";
    Quotes => "Quotes", "报价";
    Parse => "Parse", "解析";
    ParsedBy => "Parsed by", "解析方式";
    ParsedRequest => "Request", "询价";
    EnterRequest => "Enter a request taken by phone or e-mail", "录入电话或邮件询价";
    EnterRequestHelp => "Parsed, checked against the client's limits, priced and queued for approval like a chat request; you are recorded as its sender.", "与聊天询价相同：解析、按客户额度检查、定价并进入审批队列；您将记为发送人。";
    NoClients => "No clients are configured ([limits.clients]): an administrator adds them to the configuration.", "尚未配置客户（[limits.clients]）：请管理员在配置中添加。";
    PriceAndQueue => "Price and queue for approval", "定价并提交审批";
    MissingFields => "Not stated", "未说明";
    Confidence => "Confidence", "置信度";
    Problems => "Problems", "问题";
    ChatTrail => "Chat messages", "聊天记录";
    Direction => "Direction", "方向";
    Inbound => "in", "收";
    Outbound => "out", "发";
    Sender => "Sender", "发送人";
    Time => "Time", "时间";
    Live => "Live: new requests and decisions appear without reloading.", "实时：新询价和审批结果无需刷新即可显示。";
    NoRfqs => "No requests for quote match. Requests arrive from the chats mapped to clients (Admin → Chat mappings), the JSON webhook, or the form above.", "没有符合条件的询价。询价来自已关联客户的群（管理 → 群聊映射）、JSON webhook，或上方的表单。";
    Underlying => "Underlying", "标的";
    Structure => "Structure", "结构";
    Error => "Error", "错误";
    Detail => "Detail", "详情";
    Open => "Open", "打开";
    CreateUser => "Create a user", "创建用户";
    Create => "Create", "创建";
    SetPassword => "Set password", "设置密码";
    NewPassword => "New password (at least 12 characters)", "新密码（至少 12 个字符）";
    IssueToken => "Issue an API token", "签发 API 令牌";
    Label => "Label", "标签";
    Issue => "Issue", "签发";
    TokenShownOnce => "The token is shown once; copy it now.", "令牌只显示一次，请立即复制。";
    ActiveTokens => "Active tokens", "有效令牌";
    CreatedBy => "Created by", "创建人";
    Revoke => "Revoke", "撤销";
    Revoked => "Revoked", "已撤销";
    Active => "Active", "有效";
    Address => "Address", "地址";
    Browser => "Browser", "浏览器";
    LastSeen => "Last seen", "最近活动";
    Verify => "Verify the chain", "校验哈希链";
    ChainOk => "The audit chain verifies.", "审计哈希链校验通过。";
    ChainBroken => "The audit chain does NOT verify.", "审计哈希链校验失败。";
    Seq => "Seq", "序号";
    Actor => "Actor", "操作人";
    Action => "Action", "操作";
    Object => "Object", "对象";
    Details => "Details", "详情";
    Older => "Older", "更早";
    Export => "Export (JSON)", "导出（JSON）";
    Saved => "Saved.", "已保存。";
    Done => "Done.", "已完成。";
    ErrorTitle => "Something went wrong", "出错了";
    RequestId => "Request id", "请求编号";
    Back => "Back to the home page", "返回首页";
    Forbidden => "You may not open this page.", "您无权访问此页面。";
    ForbiddenAction => "You may not do this.", "您无权执行此操作。";
    BackToForm => "Back to the page you came from", "返回上一页";
    NotFound => "Not found.", "未找到。";
    NoScript => "Live updates need JavaScript; reload the page to see changes.", "实时更新需要 JavaScript；请刷新页面查看变化。";
    Machine => "Machine-generated", "机器生成";
    Decided => "Decided", "已审批";
    Approved => "Approved", "已批准";
    Rejected => "Rejected", "已拒绝";
    EditedNewVersion => "Edited: the new version waits for a decision.", "已修改：新版本等待审批。";
    Expired => "Expired", "已过期";
    Superseded => "Superseded", "已替代";
    Knowledge => "Knowledge", "知识库";
    Documents => "Documents", "文档";
    Collection => "Collection", "集合";
    Upload => "Upload", "上传";
    UploadDocuments => "Upload documents (PDF, DOCX, HTML, text, images)", "上传文档（PDF、DOCX、HTML、文本、图片）";
    Files => "Files", "文件";
    Delete => "Delete", "删除";
    ConfirmDelete => "Delete this document from both indexes?", "确定从两个索引中删除此文档？";
    NoDocuments => "No documents you may read. Legal and ops add them with the upload on this page; administrators with `deskmate ingest PATH --collection NAME`.", "没有您可查看的文档。法务和运营可在本页上传；管理员可运行 `deskmate ingest 路径 --collection 名称`。";
    Chunks => "Chunks", "分块";
    Pages => "Pages", "页";
    Path => "Section", "章节";
    Text => "Text", "正文";
    Search => "Search", "检索";
    SearchPlayground => "Search (BM25, dense and fused scores)", "检索（BM25、向量与融合得分）";
    Query => "Query", "查询";
    Hits => "Hits", "结果";
    NoHits => "Nothing found that you may read. Try other words or another retriever; when the knowledge base is empty, add documents on the Documents page.", "未找到您可查看的内容。请换用其他关键词或检索方式；若知识库为空，请在“文档”页面添加文档。";
    Rank => "Rank", "排名";
    Bm25 => "BM25", "BM25";
    Dense => "Dense", "向量";
    Fused => "Fused", "融合";
    Retrievers => "Retrievers", "检索方式";
    RetrieversHybrid => "Hybrid (BM25 + dense)", "混合（BM25 + 向量）";
    RetrieversBm25 => "BM25 alone", "仅 BM25";
    RetrieversDense => "Dense alone", "仅向量";
    Ask => "Ask", "提问";
    AskTitle => "Ask the knowledge base", "向知识库提问";
    Question => "Question", "问题";
    Answer => "Answer", "回答";
    Citations => "Citations", "引用";
    CorrectOrSplit => "Correct or split", "修改或拆分";
    CorrectedText => "Corrected text", "修改后的文本";
    SplitBefore => "Split before this text", "在此文字之前拆分";
    Split => "Split", "拆分";
    ChunkRevised => "The chunk was changed and the document alone re-indexed: now version", "分块已修改，仅该文档已重新索引：当前版本";
    EvidenceGiven => "Evidence the model was given", "提供给模型的资料";
    NotFoundInDocs => "Not found in the documents you can access.", "在您可访问的文档中未找到。";
    DroppedSentences => "Sentences dropped for lack of support", "因缺乏依据而删除的句子";
    Pricing => "Pricing", "定价";
    ProductJson => "Product (JSON product format; for a book or grid: an array or one per line)", "产品（JSON 产品格式；组合或情景网格：数组或每行一个）";
    MarketJson => "Market (JSON; empty: the desk's market data)", "市场数据（JSON；留空则用交易台行情）";
    Engine => "Engine", "定价引擎";
    McPaths => "Monte Carlo paths", "蒙特卡洛路径数";
    Price => "Price", "定价";
    RevalueBook => "Revalue as a book", "按组合重估";
    ScenarioGrid => "Scenario grid", "情景网格";
    SpotAxis => "Spot (% of spot: a:b:step or x;y)", "标的价格（现价百分比：a:b:步长 或 x;y）";
    VolAxis => "Vol shift (vol points)", "波动率平移（波动率点）";
    DaysAxis => "Days forward", "向前天数";
    RunGrid => "Run the grid", "运行情景网格";
    Greek => "Greek", "希腊字母";
    Value => "Value", "价值";
    StdError => "Std error", "标准误差";
    Result => "Result", "结果";
    NotionalCurrency => "(notional currency)", "（名义本金币种）";
    PerNotional => "Value / notional", "价值 / 名义本金";
    BookTotals => "Book totals", "组合合计";
    Priced => "Priced", "已定价";
    Failed => "Failed", "失败";
    Contracts => "Contracts", "合约";
    HeatMapHelp => "Book value per cell; colour from lowest (blue) to highest (red).", "每格为组合价值；颜色由低（蓝）到高（红）。";
    Days => "days", "天";
    ClientQuote => "Client quote", "客户报价";
    FairValue => "Fair value", "公允价值";
    Margin => "Margin", "利润";
    Notional => "Notional", "名义本金";
    LimitChecks => "Limit checks", "额度检查";
    ReplyPreview => "Reply to the client (preview)", "给客户的回复（预览）";
    ChatMappings => "Chat mappings", "群聊映射";
    NoChatMappings => "No chat is mapped to a client yet: the desk answers no group. Map one with the form below (or `deskmate rfq chats add`).", "尚未把任何群关联到客户：报价机器人暂不回复任何群。请用下方表单关联（或运行 `deskmate rfq chats add`）。";
    NoMarketData => "No market data: quotes cannot be priced. Point `[rfq] market_data` at a JSON file or folder (`deskmate up` writes illustrative demo data).", "没有行情数据：无法为报价定价。请将 `[rfq] market_data` 指向 JSON 文件或目录（`deskmate up` 会写入演示行情）。";
    MapChat => "Map a chat to a client", "将群聊映射到客户";
    UnmappedChats => "Chats waiting for a mapping", "待关联客户的群聊";
    UnmappedHint => "These chats wrote to the desk in the last 30 days but are mapped to no client, so nothing was priced and they were told the chat is not set up. Map each to its client:", "以下群聊近 30 天向报价机器人发过消息，但尚未关联客户，因此未报价，并已告知对方本群尚未开通。请为每个群关联客户：";
    Messages => "Messages", "消息数";
    Map => "Map", "关联";
    Channel => "Channel", "渠道";
    Chat => "Chat", "群聊";
    System => "System", "系统";
    Health => "Health", "运行状态";
    Database => "Database", "数据库";
    InFlight => "Requests in progress", "处理中的请求";
    Metrics => "Metrics", "指标";
    Configuration => "Configuration", "配置";
    SecretsMasked => "Secrets are masked.", "密钥已隐藏。";
    IngestStarted => "Upload accepted; the documents are being ingested (job below).", "上传已受理，文档正在入库（见下方任务）。";
    // Operations (extraction upload and review).
    Operations => "Operations", "运营";
    UploadConfirmations => "Upload confirmations", "上传交易确认书";
    UploadHelp => "Choose or drop one or more files (PDF, scan, image, DOCX, HTML, text, FpML)", "选择或拖入一个或多个文件（PDF、扫描件、图片、DOCX、HTML、文本、FpML）";
    UploadExtract => "Upload and extract", "上传并提取";
    DropHere => "Drop files here", "将文件拖到此处";
    Uploading => "uploading", "上传中";
    Uploaded => "uploaded", "已上传";
    UploadFailed => "upload failed", "上传失败";
    ReviewsWaiting => "Extractions waiting for review", "待复核的提取结果";
    YourExtractionJobs => "Your recent uploads", "您最近的上传";
    File => "File", "文件";
    ExtractionJob => "Extraction job", "提取任务";
    Finished => "Finished", "完成时间";
    JobRunning => "Extracting: this table refreshes itself until every file is done.", "正在提取：本表会自动刷新，直到所有文件处理完毕。";
    Size => "Size", "大小";
    Product => "Product", "产品";
    PageCount => "Pages", "页数";
    OcrPages => "read by OCR", "经 OCR 识别";
    Page => "Page", "页";
    OpenImage => "open the image", "打开图片";
    EvidenceBoxes => "Where each value was found", "各字段取值的出处";
    NoPageImage => "This format has no page image; each field shows the text it was read from.", "此格式没有页面图像；每个字段下方显示其来源文本。";
    NoBoxes => "No boxes on this page: its geometry was not recorded.", "本页未记录版面坐标，无法标出出处框。";
    Fields => "Extracted fields", "提取的字段";
    NoFields => "No fields were extracted.", "未提取到任何字段。";
    FieldValue => "Value", "取值";
    Method => "Method", "方式";
    MethodRule => "rules", "规则";
    MethodModel => "model", "模型";
    MethodCorrection => "correction", "人工更正";
    Evidence => "Evidence", "出处";
    ShowEvidence => "Show where it was found", "显示出处";
    Correct => "Correct", "更正";
    Conflicts => "Conflicts (stated with different values)", "冲突（文中取值不一致）";
    Values => "Values", "取值";
    Notices => "Notices", "提示";
    AddOrCorrect => "Add or correct a field", "新增或更正字段";
    RemoveField => "Remove the field (the document does not state it)", "删除该字段（文件中未载明）";
    SaveCorrection => "Save correction", "保存更正";
    Corrections => "Corrections", "更正记录";
    FourEyesMaker => "Four-eyes: you uploaded this file, so another ops user must approve it.", "四眼原则：此文件由您上传，须由另一位运营人员批准。";
    ApprovalRequest => "Approval request", "审批请求";
    Exports => "Exports", "导出";
    ExportCdm => "CDM JSON", "CDM JSON";
    ExportKeyTerms => "Key terms (JSON)", "关键条款（JSON）";
    CdmMissing => "CDM properties to fill in (required by CDM, absent from the TradeState)", "待补充的 CDM 属性（CDM 必填，TradeState 中缺失）";
    CdmMissingHelp => "Enter each value as JSON (true, false, a number, \"text\", an object); it is checked against the CDM schema. The file cannot be approved until every one is filled in.", "以 JSON 填写各值（true、false、数字、\"文本\"、对象），按 CDM 模式校验。全部填写后方可批准。";
    InSourceYes => "The source states it (not carried over by the mapping)", "源文件已载明（映射未带入）";
    InSourceNo => "The source does not state it", "源文件未载明";
    InSourceNotKnown => "Not known whether the source states it", "不确定源文件是否载明";
    Drafting => "Drafting", "起草";
    Drafts => "Drafts", "草稿";
    NoDrafts => "No drafts yet.", "暂无草稿。";
    NewDraft => "Draft a confirmation", "起草确认书";
    NewDraftHelp => "Paste the trade's key terms (as an approved extraction or deskmate extract gives them) or name an approved extraction; every value is written from the trade, never by a model.", "粘贴交易要素（已批准的提取结果或 deskmate extract 的输出），或填写已批准提取结果的编号；所有数值均取自交易，不由模型生成。";
    TradeJson => "Trade (key terms, JSON)", "交易要素（JSON）";
    ExtractionResult => "Or an approved extraction (approval id)", "或已批准的提取结果（审批编号）";
    Template => "Template", "模板";
    ByProduct => "Chosen by product type", "按产品类型选择";
    DraftIt => "Draft", "起草";
    Clauses => "Clauses", "条款";
    DocumentText => "Document", "文件";
    Findings => "Findings", "审校意见";
    NoFindings => "No findings.", "未发现问题。";
    Severity => "Severity", "严重程度";
    Suggestion => "Suggestion", "建议";
    FromTrade => "Value from the trade", "取自交易的数值";
    EditText => "Edit the text", "编辑文本";
    SaveVersion => "Save as a new version", "保存为新版本";
    EditNoteRequired => "What the edit changes (required)", "修改说明（必填）";
    ProofreadDocument => "Proofread a document", "审校文件";
    ProofreadHelp => "A counterparty's copy or any agreement (PDF, DOCX, text): checked on its own, and against the trade when you paste its key terms.", "对方返回的文本或任何协议（PDF、DOCX、文本）：检查其内部一致性；如粘贴交易要素，则同时与交易核对。";
    Proofread => "Proofread", "审校";
    Diff => "Diff", "差异";
    EditConflict => "Someone saved this draft first: your edit was not saved.", "他人已先保存此草稿：您的修改未保存。";
    EditConflictHelp => "Your text is kept below. Merge the other edit into it and save again on the current version.", "您的文本保留在下方。请合并对方的修改后，基于当前版本重新保存。";
    Current => "Current", "当前";
    Yours => "Yours", "您的";
    MachineDrafted => "Drafted by Deskmate from the trade and the template (machine-generated); values highlighted.", "由 Deskmate 根据交易与模板生成（机器生成）；高亮处为数值。";
    Source => "Source", "来源";
    Markup => "Counterparty mark-up", "对方修改稿";
    MarkupHelp => "Upload the counterparty's copy (PDF, DOCX with tracked changes, text): each changed clause is classed and answered by the firm's positions.", "上传对方返回的文本（PDF、带修订的 DOCX、文本）：逐条归类修改，并按本公司立场给出回应。";
    Compare => "Compare", "比对";
    Response => "Response", "回应";
    Impact => "Impact", "影响";
    IssuesList => "Issues list", "问题清单";
    Precedents => "Precedents", "先例";
    ApprovedQuote => "Or an approved quote (approval id)", "或已批准的报价（审批编号）";
    BespokeFeature => "Bespoke feature (optional)", "特别安排（可选）";
    BespokeFeatureHelp => "What the desk agreed beyond the standard terms. The local model writes it up as the Additional Terms clause, checked against the trade; its text is marked machine-written, or left for legal to write when it fails the checks.", "标准条款以外的约定。本地模型据此撰写补充条款，并与交易核对；其文字标注为机器生成，未通过核对时留待法务撰写。";
    MachineWritten => "machine-written", "机器撰写";
    PrecedentsHelp => "Earlier confirmations in the knowledge base for this counterparty or product that word a clause differently from the template.", "知识库中与本交易对手或产品相关、条款措辞与模板不同的既往确认书。";
    FindPrecedents => "Find precedents", "查找先例";
    PrecedentDocuments => "confirmations read", "份确认书已比对";
    NoPrecedents => "No precedent words a clause differently from the template.", "没有措辞与模板不同的先例。";
    SameCounterparty => "same counterparty", "同一交易对手";
    ScannedLowerConfidence => "Read by OCR from a scan: check the redline against the paper.", "扫描件经 OCR 识别：请对照原件核对修订。";
    NoChanges => "No changes.", "无修改。";
    ApprovalAndSignature => "Approval and signature", "审批与签署";
    StatusDrafting => "being drafted", "起草中";
    StatusInApproval => "waiting for legal approval", "待法务审批";
    StatusRejected => "approval refused", "审批未通过";
    StatusApproved => "approved, ready to finalise", "已审批，待定稿";
    StatusFinal => "final, waiting for signatures", "已定稿，待签署";
    StatusExecuted => "executed", "已签署生效";
    SendForApproval => "Send for approval", "提交审批";
    SendForApprovalHelp => "The proofreader runs first: a version with errors is not sent. An edit saved later withdraws the request.", "提交前先校对：有错误的版本不能提交。提交后再保存修改将撤回审批。";
    FourEyesHelp => "Four eyes: whoever sent this version or wrote it may not approve it.", "四眼原则：提交人或该版本的作者不得审批。";
    Finalise => "Finalise (PDF and DOCX)", "定稿（PDF 与 DOCX）";
    FinalDocuments => "Final documents", "定稿文件";
    ConformedCopy => "conformed copy", "签署生效本";
    ExecutedOn => "Executed and dated on the last signature:", "已签署生效，以最后一方签署日为准：";
    Party => "Party", "当事方";
    SignedOn => "Signed on", "签署日期";
    Match => "Match with the final", "与定稿一致度";
    UploadSignedCopy => "Upload signed copy", "上传签署件";
    ClauseLibrary => "Clause library", "条款库";
    Fallback => "Fallback", "备选措辞";
    ImportTemplate => "Import template", "导入模板";
    ModelRisk => "Model risk", "模型风险";
    MrAlerts => "Open alerts", "未关闭的告警";
    MrNoAlerts => "No open alert: every watched figure is within its threshold or has too few calls to judge.", "没有未关闭的告警：各监控指标均在阈值内，或调用次数不足以判断。";
    MrChain => "Chain", "链路";
    MrMetric => "Figure", "指标";
    MrValue => "Value", "数值";
    MrThreshold => "Threshold", "阈值";
    MrAction => "Action", "处置";
    MrOpened => "Raised", "触发时间";
    MrAcknowledge => "Acknowledge", "确认";
    MrResolve => "Resolve", "关闭";
    MrNote => "Note", "说明";
    MrChanges => "Model changes waiting for approval", "待审批的模型变更";
    MrInventory => "Model inventory", "模型清单";
    MrOwnerUse => "Owner, use and limits", "负责人、用途与限制";
    MrModel => "Model and weights (SHA-256)", "模型与权重（SHA-256）";
    MrVersions => "Versions", "版本";
    MrMode => "Mode", "运行方式";
    MrFallback => "Fallback", "降级方案";
    MrNotGoverned => "gate and monitoring planned", "准入与监控待接入";
    MrNoModel => "no model configured (rules only)", "未配置模型（仅规则）";
    MrApproval => "approval", "审批";
    MrServes => "model serving", "模型在线";
    MrReason => "Reason", "原因";
    MrToFallback => "Switch to fallback", "切换到降级方案";
    MrPause => "Pause", "暂停";
    MrRestore => "Request return to the model", "申请恢复模型";
    MrRollback => "Roll back to the previous version", "回滚到上一版本";
    MrReinstate => "Request approval to serve again", "申请重新投产";
    MrMetricsNow => "Watched figures now", "当前监控指标";
    MrWindow => "Window", "窗口";
    MrCalls => "Calls", "调用数";
    MrTooFew => "too few calls", "调用不足";
    MrBaselineValidation => "baseline: the validation", "基线：验证";
    MrBaselineProduction => "baseline: production calls before the window", "基线：窗口前的生产调用";
    MrCases => "cases", "个案例";
    MrRates => "Rates over the last 24 hours", "近 24 小时比率";
    MrDrift => "Input drift over the last 24 hours (population stability index)", "近 24 小时输入漂移（群体稳定性指数）";
    MrHoursAgo => "hours ago", "小时前";
    MrShare => "share of calls", "调用占比";
    MrNoTrend => "No figure has enough calls in the last 24 hours to chart yet.", "近 24 小时内尚无指标有足够的调用可绘图。";
    MrExplain => "Explainability levels (policies::explain)", "可解释性等级（policies::explain）";
    MrDecision => "Decision", "决策";
    MrImpact => "Impact", "影响等级";
    MrExplains => "The explanation holds", "解释须包含";
    MrExplainHint => "Every decision of these kinds writes its explanation into its audit entry (details.explanation) and shows it to the person who reviews it.", "以上各类决策均将解释写入审计条目（details.explanation），并展示给复核人员。";
    MrReports => "Validation, bias and red-team reports", "验证、偏差与红队报告";
    MrEvidence => "Evidence for this model change: the latest reports", "本次模型变更的依据：最新报告";
    MrSinceRequest => "run since this request", "于本申请之后运行";
    MrBeforeRequest => "run before this request", "于本申请之前运行";
    MrEvidenceHint => "The reports marked required must have passed since this request, or approving is refused (policies::validation::approval_evidence). Run them on the model-risk dashboard (Run now), with POST /v1/evals/{suite}/runs or with deskmate eval SUITE; each report is recorded in the audit log by its SHA-256.", "标为必需的报告须于本申请之后运行并通过，否则无法批准（policies::validation::approval_evidence）。可在模型风险看板点击“立即运行”，或通过 POST /v1/evals/{suite}/runs、deskmate eval SUITE 运行；每份报告的 SHA-256 均记入审计日志。";
    MrSuite => "Suite", "评测";
    MrRun => "Last run", "最近运行";
    MrNeverRun => "not run yet", "尚未运行";
    MrOpenReport => "Report", "报告";
    MrRunNow => "Run now", "立即运行";
    MrMachine => "Machine", "机器";
    MrModels => "Models", "模型";
    MrFigures => "Figures against their thresholds", "指标与阈值";
    MrFailedCases => "Failed cases", "未通过的用例";
    MrNoFailedCases => "Every case passed.", "所有用例均通过。";
    MrNotes => "Notes", "说明";
    MrCorrections => "Ops corrections of extracted key terms by field, last 7 days", "近 7 日运营复核对提取要素的更正（按字段）";
    MrConfirmations => "confirmations extracted", "份确认书已提取";
    MrNoCorrections => "No corrections in the last 7 days.", "近 7 日无更正。";
    MrField => "Field", "字段";
    MrCorrected => "Confirmations corrected", "被更正的确认书";
    MrSignedAt => "matches the audit log, entry", "与审计日志一致，条目";
    MrNotSigned => "not in the audit log: changed after it was recorded, or never recorded", "不在审计日志中：记录后被修改，或从未记录";
    MrRequired => "required for this approval", "本次批准必需";
    MrMissing => "Approving is refused until this evidence is there:", "以下依据齐备之前无法批准：";
    MrEvidenceComplete => "Every report this approval needs has passed since it was requested.", "本次批准所需的全部报告均已于申请之后运行并通过。";
    MrReportsHint => "Run now starts a suite in the background; its report appears here when it ends and is recorded in the audit log by its SHA-256 (also POST /v1/evals/{suite}/runs, deskmate eval SUITE). bias-history runs nightly over the blotter.", "“立即运行”在后台启动评测；结束后报告显示于此，其 SHA-256 记入审计日志（亦可 POST /v1/evals/{suite}/runs 或 deskmate eval SUITE）。bias-history 每晚基于交易记录自动运行。";
}

/// `x` with thousands separators and `decimals` decimals (`1,234,567.89`); non-finite values
/// as `n/a`.
pub fn number(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if x < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

/// An amount with its currency code first (`CNY 1,234,567.89`).
pub fn money(x: f64, currency: &str) -> String {
    format!("{currency} {}", number(x, 2))
}

/// A fraction as a percentage with its sign (`12.50%`).
pub fn percent(fraction: f64, decimals: usize) -> String {
    format!("{}%", number(fraction * 100.0, decimals))
}

/// An RFC 3339 UTC time as `2026-12-05 03:04:05 UTC` (as stored when it does not parse).
pub fn time(rfc3339: &str) -> String {
    match ::time::OffsetDateTime::parse(rfc3339, &::time::format_description::well_known::Rfc3339) {
        Ok(t) => {
            let t = t.to_offset(::time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        }
        Err(_) => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_and_they_differ_where_words_do() {
        for t in T::ALL {
            assert!(
                !t.text(Lang::En).is_empty() && !t.text(Lang::Zh).is_empty(),
                "{t:?}"
            );
        }
        assert_eq!(T::SignIn.text(Lang::Zh), "登录");
    }

    #[test]
    fn numbers_money_and_times_carry_units() {
        assert_eq!(number(1234567.891, 2), "1,234,567.89");
        assert_eq!(number(-1234.6, 0), "-1,235");
        assert_eq!(number(-0.001, 2), "0.00");
        assert_eq!(number(999.0, 0), "999");
        assert_eq!(number(f64::NAN, 2), "n/a");
        assert_eq!(money(5_000_000.0, "CNY"), "CNY 5,000,000.00");
        assert_eq!(percent(0.125, 2), "12.50%");
        assert_eq!(time("2026-12-05T03:04:05Z"), "2026-12-05 03:04:05 UTC");
        assert_eq!(time("2026-12-05T11:04:05+08:00"), "2026-12-05 03:04:05 UTC");
        assert_eq!(time("garbage"), "garbage");
    }
}
